//! `symbiont keys` end to end: new, list, export, import into another keystore, raw export,
//! with passphrases from files (and from the environment variables).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{
    path::Path,
    process::{Command, Output, Stdio},
};

use wallet::{Address, PrivateKey, keystore};

/// The binary, with no keystore or password file from the environment.
pub(crate) fn symbiont() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_symbiont"));
    cmd.env_remove("SYMBIONT_KEYSTORE")
        .env_remove("SYMBIONT_PASSWORD_FILE")
        .stdin(Stdio::null());
    cmd
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn keys(ks: &Path, pw: &Path) -> Command {
    let mut cmd = symbiont();
    cmd.arg("keys")
        .arg("--keystore")
        .arg(ks)
        .arg("--password-file")
        .arg(pw);
    cmd
}

/// The address on the `Address: 0x…` line that `new` and `import` print.
fn printed_address(stdout: &str) -> Address {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("Address:"))
        .unwrap_or_else(|| panic!("no address in {stdout:?}"))
        .trim()
        .parse()
        .unwrap()
}

fn failure(out: &Output) -> String {
    assert!(!out.status.success(), "expected a failure");
    assert!(out.stdout.is_empty(), "a failure printed {:?}", out.stdout);
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn new_list_export_import_round_trip() {
    let tmp = tempfile::tempdir().unwrap();
    let (ks1, ks2) = (tmp.path().join("ks1"), tmp.path().join("ks2"));
    let pw = tmp.path().join("pw");
    let pw2 = tmp.path().join("pw2");
    std::fs::write(&pw, "first passphrase\n").unwrap();
    std::fs::write(&pw2, "second passphrase\r\n").unwrap();

    let address = printed_address(&run(keys(&ks1, &pw).args(["new", "--light-kdf"])));
    let listed = run(keys(&ks1, &pw).arg("list"));
    assert!(listed.contains(&address.to_string()), "{listed}");

    // Export as a keystore file: standard v3, same passphrase, owner-only.
    let exported = tmp.path().join("exported.json");
    run(keys(&ks1, &pw)
        .args(["export", &address.to_string(), "--out"])
        .arg(&exported));
    let key =
        keystore::decrypt_json(&std::fs::read(&exported).unwrap(), b"first passphrase").unwrap();
    assert_eq!(key.address(), address);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&exported).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // Import it into another keystore, re-encrypted under another passphrase; the keystore
    // and password file come from the environment this time.
    let imported = run(symbiont()
        .env("SYMBIONT_KEYSTORE", &ks2)
        .env("SYMBIONT_PASSWORD_FILE", &pw2)
        .args(["keys", "import", "--light-kdf", "--keystore-file"])
        .arg(&exported)
        .arg("--source-password-file")
        .arg(&pw));
    assert_eq!(printed_address(&imported), address);
    assert!(run(keys(&ks2, &pw2).arg("list")).contains(&address.to_string()));

    // The raw key, from both keystores, is the same key.
    let raw = |ks: &Path, pw: &Path| {
        let out = run(keys(ks, pw).args([
            "export",
            &address.to_string(),
            "--private-key",
            "--yes-i-understand",
        ]));
        PrivateKey::from_hex(&out).unwrap()
    };
    assert_eq!(raw(&ks1, &pw).to_bytes(), key.to_bytes());
    assert_eq!(raw(&ks2, &pw2).to_bytes(), key.to_bytes());

    // Importing the same key again is refused.
    let err = failure(
        &keys(&ks2, &pw2)
            .args(["import", "--copy", "--keystore-file"])
            .arg(&exported)
            .arg("--source-password-file")
            .arg(&pw)
            .output()
            .unwrap(),
    );
    assert!(err.contains("already holds"), "{err}");
}

#[test]
fn import_hex_key_and_refusals() {
    let tmp = tempfile::tempdir().unwrap();
    let ks = tmp.path().join("ks");
    let pw = tmp.path().join("pw");
    std::fs::write(&pw, "passphrase\n").unwrap();
    let key = PrivateKey::random();
    let key_file = tmp.path().join("key.hex");
    std::fs::write(&key_file, format!("0x{}\n", key.to_hex().as_str())).unwrap();

    let out = run(keys(&ks, &pw)
        .args(["import", "--light-kdf", "--private-key-file"])
        .arg(&key_file));
    assert_eq!(printed_address(&out), key.address());
    assert!(
        !out.contains(key.to_hex().as_str()),
        "import must not echo the key"
    );

    // Raw export without confirmation and without a terminal: refused, nothing printed.
    let err = failure(
        &keys(&ks, &pw)
            .args(["export", &key.address().to_string(), "--private-key"])
            .output()
            .unwrap(),
    );
    assert!(err.contains("--yes-i-understand"), "{err}");

    // Wrong passphrase: a clear error.
    let bad = tmp.path().join("bad");
    std::fs::write(&bad, "nope\n").unwrap();
    let err = failure(
        &keys(&ks, &bad)
            .args([
                "export",
                &key.address().to_string(),
                "--private-key",
                "--yes-i-understand",
            ])
            .output()
            .unwrap(),
    );
    assert!(err.contains("wrong passphrase"), "{err}");

    // An empty passphrase is refused for new keys.
    let empty = tmp.path().join("empty");
    std::fs::write(&empty, "\n").unwrap();
    let err = failure(&keys(&ks, &empty).arg("new").output().unwrap());
    assert!(err.contains("empty passphrase"), "{err}");

    // Unknown address.
    let err = failure(
        &keys(&ks, &pw)
            .args(["export", &Address::ZERO.to_string(), "--out"])
            .arg(tmp.path().join("x.json"))
            .output()
            .unwrap(),
    );
    assert!(err.contains("no key"), "{err}");
}

#[test]
fn help_documents_every_keys_command() {
    for sub in ["new", "import", "list", "export"] {
        let out = run(symbiont().args(["keys", sub, "--help"]));
        assert!(out.contains("--keystore"), "{sub}: {out}");
        assert!(out.contains("--password-file"), "{sub}: {out}");
    }
}
