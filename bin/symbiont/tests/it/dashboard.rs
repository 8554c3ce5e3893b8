//! The web dashboard in a real browser: a dev node with subnet 1 running epochs (tempo 10,
//! 100 ms blocks), validators weighting miners, an x402 payment; then `interop/dashboard.mjs`
//! drives Debian's chromium (headless, playwright-core) over the page: first render, the head
//! advancing over the event stream, the metagraph table and the epoch charts, sorting, a
//! narrow window, and a screenshot in the target directory.

use std::{path::PathBuf, time::Instant};

use crate::subnet::{DevNode, dev, ok, symbiont};

/// The browser: `$CHROMIUM`, else Debian's.
fn chromium() -> PathBuf {
    let path =
        std::env::var_os("CHROMIUM").map_or_else(|| "/usr/bin/chromium".into(), PathBuf::from);
    assert!(
        path.is_file(),
        "the dashboard test needs chromium at {}: install it with \
         `apt-get update && apt-get install -y chromium` (Debian), or set CHROMIUM to a \
         Chromium or Chrome binary",
        path.display()
    );
    path
}

#[test]
fn the_dashboard_shows_the_chain_and_subnet_live_in_a_browser() {
    let browser = chromium();
    let started = Instant::now();
    let n = DevNode::start();
    n.create_fast_subnet(&[]);
    for i in 1..=5 {
        ok(n.signed(&["neuron", "register", "--netuid", "1"], i));
    }
    ok(n.signed(&["stake", "add", "--netuid", "1", "--amount", "50"], 1));
    ok(n.signed(&["stake", "add", "--netuid", "1", "--amount", "20"], 2));
    // Permits come from the epoch after the stake.
    let staked = n.subnet()["height"].as_u64().unwrap();
    n.epoch_after(staked);
    for v in [0, 1, 2] {
        ok(n.signed(
            &[
                "weights",
                "set",
                "--netuid",
                "1",
                "--weights",
                "3=60000,4=40000,5=20000",
            ],
            v,
        ));
    }
    // An x402 payment through the node's own facilitator (the dev chain's paid route).
    ok(symbiont()
        .args(["pay", &format!("{}/demo/paid", n.url), "--max", "0.05"])
        .args(["--from", &dev(1)])
        .arg("--keystore")
        .arg(n.data.join("keystore"))
        .arg("--password-file")
        .arg(n.data.join("dev-password"))
        .output()
        .unwrap());
    let mut last = n.subnet()["height"].as_u64().unwrap();
    for _ in 0..3 {
        last = n.epoch_after(last);
    }

    let shot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("dashboard.png");
    let _ = std::fs::remove_file(&shot);
    let browser = browser.to_string_lossy().into_owned();
    // Transfers keep coming while the browser looks: the page must show them without a reload.
    let stop = std::sync::atomic::AtomicBool::new(false);
    let out = std::thread::scope(|scope| {
        scope.spawn(|| {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let to = dev(8);
                let args = ["tx", "transfer", "--to", &to, "--amount", "0.5"];
                ok(n.signed(&args, 7));
                std::thread::sleep(std::time::Duration::from_millis(300));
            }
        });
        let out = run_dashboard_script(&browser, &n.url, &shot);
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        out
    });
    let seen: serde_json::Value = serde_json::from_str(&out).unwrap();
    eprintln!("dashboard: {seen}\nscreenshot: {}", shot.display());
    assert!(
        seen["firstRenderMs"].as_u64().unwrap() < 1000,
        "first render under 1 s on loopback: {seen}"
    );
    assert!(
        seen["height1"].as_u64() > seen["height0"].as_u64(),
        "{seen}"
    );
    assert!(seen["liveTx"].as_u64() > seen["firstTx"].as_u64(), "{seen}");
    assert_eq!(seen["neurons"], 6, "{seen}");
    assert!(seen["earning"].as_u64().unwrap() >= 1, "{seen}");
    assert!(seen["incentiveSeries"].as_u64().unwrap() >= 1, "{seen}");
    assert!(seen["dividendSeries"].as_u64().unwrap() >= 1, "{seen}");
    assert_eq!(seen["payments"], "1", "{seen}");
    assert!(
        std::fs::metadata(&shot).unwrap().len() > 10_000,
        "a screenshot"
    );
    assert!(
        started.elapsed().as_secs() < 120,
        "bounded: {:?}",
        started.elapsed()
    );
}

/// `node interop/dashboard.mjs` with the browser in `CHROMIUM`; its JSON line.
fn run_dashboard_script(browser: &str, url: &str, shot: &std::path::Path) -> String {
    let dir = test_utils::interop_dir();
    let out = std::process::Command::new("node")
        .arg(dir.join("dashboard.mjs"))
        .arg(url)
        .arg(shot)
        .args(["--wait-payments", "--min-neurons", "6"])
        .env("CHROMIUM", browser)
        .current_dir(&dir)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("running node (is Node.js installed?)");
    assert!(
        out.status.success(),
        "dashboard.mjs failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}
