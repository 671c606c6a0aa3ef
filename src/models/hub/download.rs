//! A Hub file into the models dir: download with resume, verify, rename into place.

use sha2::{Digest, Sha256};
use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::client::{check_content_range, Client, FileMeta};
use super::{pick_q4_k_m, HubConfig, HubError, HubRef};
use crate::models::registry::{is_verified, marker_path, remove_if_exists, write_marker};
use crate::models::PullProgress;

/// Fetch `reference` into `dir` (created if needed) and return the file's path there.
///
/// A verified file already at the destination is not fetched again. An interrupted download stays
/// in `dir/.FILE.SHA256.incomplete` and the next call resumes it with a range request.
pub fn pull_hub_into(
    dir: &Path,
    reference: &HubRef,
    config: &HubConfig,
    on_progress: &mut dyn FnMut(PullProgress),
) -> Result<PathBuf, HubError> {
    if config.offline {
        return Err(HubError::Offline {
            endpoint: config.endpoint.clone(),
            detail: "HF_HUB_OFFLINE is set".to_string(),
        });
    }
    let client = Client::new(config.clone());
    let file = match &reference.file {
        Some(file) => file.clone(),
        None => {
            let files = client.list_files(reference)?;
            pick_q4_k_m(&reference.repo, &reference.revision, &files)?
        }
    };
    let meta = client.file_meta(reference, &file)?;
    tracing::info!(repo = %reference.repo, %file, sha256 = %meta.sha256, size = meta.size,
        commit = ?meta.commit, location = %meta.location, "Hub file");
    let name = file.rsplit('/').next().unwrap_or(&file).to_string();
    let dest = dir.join(&name);
    fs::create_dir_all(dir).map_err(io_err(dir))?;
    if is_verified(&dest, meta.size, &meta.sha256, &mut || {
        on_progress(PullProgress::Verifying)
    })
    .map_err(io_err(&dest))?
    {
        on_progress(PullProgress::AlreadyPresent(dest.clone()));
        return Ok(dest);
    }
    // Leading dot and no .gguf extension: `model list` never shows it. The hash in the name means a
    // partial of an older version of the file is never resumed as if it were this one.
    let partial = dir.join(format!(".{name}.{}.incomplete", meta.sha256));
    remove_stale_partials(dir, &name, &partial);
    let file_handle = download(&client, &meta, &name, &partial, on_progress)?;
    // A marker from a previous file must not vouch for the new one.
    remove_if_exists(&marker_path(&dest));
    persist(file_handle, &partial, &dest)?;
    write_marker(&dest, &meta.sha256);
    tracing::info!(path = %dest.display(), bytes = meta.size, "Hub model downloaded and verified");
    on_progress(PullProgress::Done(dest.clone()));
    Ok(dest)
}

/// Download into `partial` (resuming what is there) and verify; returns the open, complete file.
fn download(
    client: &Client,
    meta: &FileMeta,
    name: &str,
    partial: &Path,
    on_progress: &mut dyn FnMut(PullProgress),
) -> Result<File, HubError> {
    let mut file = File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(partial)
        .map_err(io_err(partial))?;
    // Two pulls appending to one partial would corrupt it; the second one stops instead.
    if file.try_lock().is_err() {
        return Err(HubError::Busy {
            path: partial.to_path_buf(),
        });
    }
    let mut have = file.metadata().map_err(io_err(partial))?.len();
    if have > meta.size {
        start_over(&mut file, partial)?;
        have = 0;
    }
    // Resuming means hashing what is already there: the sha256 covers the whole file.
    let mut hasher = Sha256::new();
    if have > 0 {
        on_progress(PullProgress::Verifying);
        hash_prefix(&mut file, have, &mut hasher).map_err(io_err(partial))?;
        tracing::info!(file = name, bytes = have, "resuming a partial download");
    }
    on_progress(PullProgress::Fetching {
        bytes: have,
        total: meta.size,
    });
    if have < meta.size {
        let mut response = client.get(meta, have)?;
        if have > 0 && response.status() == 416 {
            // The server knows no such range: the partial is no prefix of this file.
            tracing::warn!(file = name, "range refused; starting over");
            start_over(&mut file, partial)?;
            (have, hasher) = (0, Sha256::new());
            response = client.get(meta, 0)?;
        }
        match response.status() {
            206 => check_content_range(&response, have, &meta.location)?,
            200 if have > 0 => {
                // A server (or proxy) that ignores Range sends the whole file: appending it
                // would corrupt the download.
                tracing::warn!(
                    file = name,
                    "server ignored the range request; starting over"
                );
                start_over(&mut file, partial)?;
                (have, hasher) = (0, Sha256::new());
            }
            200 => {}
            status => {
                return Err(HubError::Http {
                    url: meta.location.clone(),
                    status,
                    detail: "unexpected status for a download".to_string(),
                })
            }
        }
        file.seek(SeekFrom::End(0)).map_err(io_err(partial))?;
        have = copy_body(
            response.into_reader(),
            &mut file,
            partial,
            &mut hasher,
            (have, meta.size),
            name,
            on_progress,
        )?;
    }
    on_progress(PullProgress::Verifying);
    if have != meta.size {
        return Err(HubError::Interrupted {
            file: name.to_string(),
            bytes: have,
            total: meta.size,
            detail: "the connection closed early".to_string(),
        });
    }
    let actual = format!("{:x}", hasher.finalize());
    if actual != meta.sha256 {
        drop(file);
        remove_if_exists(partial);
        return Err(HubError::ShaMismatch {
            file: name.to_string(),
            expected: meta.sha256.clone(),
            actual,
        });
    }
    Ok(file)
}

/// Stream `body` onto the end of `file`, hashing it; returns the new length. A failed read keeps
/// the partial (the next run resumes it); more bytes than expected is a broken server.
fn copy_body(
    mut body: impl Read,
    file: &mut File,
    path: &Path,
    hasher: &mut Sha256,
    (mut have, total): (u64, u64),
    name: &str,
    on_progress: &mut dyn FnMut(PullProgress),
) -> Result<u64, HubError> {
    let mut buf = vec![0u8; 1 << 20];
    let mut reported = have;
    loop {
        let n = match body.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                let _ = file.sync_data();
                return Err(HubError::Interrupted {
                    file: name.to_string(),
                    bytes: have,
                    total,
                    detail: e.to_string(),
                });
            }
        };
        if have + n as u64 > total {
            let _ = fs::remove_file(path);
            return Err(HubError::SizeMismatch {
                file: name.to_string(),
                expected: total,
                actual: have + n as u64,
            });
        }
        file.write_all(&buf[..n]).map_err(io_err(path))?;
        hasher.update(&buf[..n]);
        have += n as u64;
        // Report per MiB so a UI channel is not flooded.
        if have - reported >= 1 << 20 {
            reported = have;
            on_progress(PullProgress::Fetching { bytes: have, total });
        }
    }
    on_progress(PullProgress::Fetching { bytes: have, total });
    Ok(have)
}

fn hash_prefix(file: &mut File, len: u64, hasher: &mut Sha256) -> io::Result<()> {
    file.seek(SeekFrom::Start(0))?;
    let copied = io::copy(&mut file.take(len), &mut HashWriter(hasher))?;
    if copied != len {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "partial download shrank while being read",
        ));
    }
    Ok(())
}

struct HashWriter<'a>(&'a mut Sha256);

impl Write for HashWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn start_over(file: &mut File, path: &Path) -> Result<(), HubError> {
    file.set_len(0).map_err(io_err(path))?;
    file.seek(SeekFrom::Start(0)).map_err(io_err(path))?;
    Ok(())
}

/// Partials of other versions of the same file name can never be resumed: remove them.
fn remove_stale_partials(dir: &Path, name: &str, keep: &Path) {
    let prefix = format!(".{name}.");
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        if file_name.starts_with(&prefix) && file_name.ends_with(".incomplete") && path != keep {
            tracing::info!(path = %path.display(), "removing a stale partial download");
            remove_if_exists(&path);
        }
    }
}

/// fsync, rename over `dest`, fsync the directory so the rename survives a crash.
fn persist(file: File, partial: &Path, dest: &Path) -> Result<(), HubError> {
    file.sync_all().map_err(io_err(partial))?;
    drop(file);
    fs::rename(partial, dest).map_err(io_err(dest))?;
    if let Some(dir) = dest.parent().filter(|d| !d.as_os_str().is_empty()) {
        let _ = File::open(dir).and_then(|d| d.sync_all());
    }
    Ok(())
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> HubError + '_ {
    move |error| HubError::Io {
        path: path.to_path_buf(),
        error,
    }
}
