//! The `symbiont` command: a thin main over [`node::cli`].

fn main() -> eyre::Result<()> {
    node::cli::main()
}
