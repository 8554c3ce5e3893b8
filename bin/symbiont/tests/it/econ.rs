//! `symbiont econ simulate`: the PNG and the CSV it writes, and its exit code on bad input.

use std::process::Command;

fn symbiont() -> Command {
    Command::new(env!("CARGO_BIN_EXE_symbiont"))
}

#[test]
fn simulate_writes_a_chart_and_a_conserving_csv() {
    let dir = tempfile::tempdir().unwrap();
    let out = symbiont()
        .args(["econ", "simulate", "--epochs", "50", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = String::from_utf8(out.stdout).unwrap();
    for s in ["flat", "growth", "boom-bust", "none"] {
        assert!(table.lines().any(|l| l.starts_with(s)), "{s} in {table}");
    }

    let png = std::fs::read(dir.path().join("supply.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert!(png.len() > 10_000, "{} bytes", png.len());

    let csv = std::fs::read_to_string(dir.path().join("econ.csv")).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (scenario, epoch) = (col("scenario"), col("epoch"));
    let (start, burned, minted, end) = (
        col("supply_start"),
        col("burned"),
        col("minted"),
        col("supply_end"),
    );
    let mut rows = 0;
    let mut last: Option<(String, u128)> = None;
    for line in lines {
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!(f.len(), header.len(), "{line}");
        let n = |i: usize| -> u128 { f[i].parse().unwrap() };
        assert_eq!(n(end) + n(burned), n(start) + n(minted), "{line}");
        // Each epoch starts from the supply the previous one ended with.
        if let Some((s, supply)) = &last
            && s == f[scenario]
        {
            assert_eq!(n(start), *supply, "{line}");
        }
        last = Some((f[scenario].to_string(), n(end)));
        assert!(f[epoch].parse::<u64>().unwrap() < 50);
        rows += 1;
    }
    assert_eq!(rows, 4 * 50);
}

#[test]
fn bad_input_exits_with_code_2() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["--epochs", "0"][..],
        &["--scenario", "moon"],
        &["--demand=-5"],
        &["--initial-price", "NaN"],
        &["--initial-supply", "21000001"],
        &["--demand", "0"],
    ] {
        let out = symbiont()
            .args(["econ", "simulate"])
            .args(args)
            .arg("--out")
            .arg(dir.path())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("error"),
            "{args:?}"
        );
    }
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none());
}
