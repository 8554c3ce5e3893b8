//! Seals a price under a fresh auction's public key and writes the bid and the key to files:
//! `cargo run --release -p compute-sealed --example seal_bid -- PRICE BID_FILE [KEY_FILE]`.
//! (The fuzz target's seed corpus `fuzz/seeds/sealed_bid` was made this way.)

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(price), Some(out)) = (args.get(1), args.get(2)) else {
        return Err("usage: seal_bid PRICE BID_FILE [KEY_FILE]".into());
    };
    let price: u16 = price.parse()?;
    let auction = compute_sealed::Auctioneer::generate();
    let key = auction.public_key()?;
    let bid = compute_sealed::seal(&key, price)?;
    std::fs::write(out, &bid)?;
    if let Some(k) = args.get(3) {
        std::fs::write(k, &key)?;
    }
    let outcome = auction.resolve(&[bid], &|_, _| {})?;
    println!(
        "sealed {price} ({} bytes); the auction reads back {}",
        std::fs::metadata(out)?.len(),
        outcome.price
    );
    Ok(())
}
