//! Reading and writing template directories.

use crate::EngineError;
use std::collections::BTreeMap;
use std::path::Path;

const MAX_FILES: usize = 5000;
const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// Every file under `dir` (hidden files and folders skipped), by `/`-separated path.
pub fn read_dir(dir: &Path) -> Result<BTreeMap<String, String>, EngineError> {
    if !dir.is_dir() {
        return Err(EngineError::Invalid(format!("{} is not a directory", dir.display())));
    }
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).map_err(|e| EngineError::Invalid(format!("cannot read {}: {e}", d.display())))?;
        for entry in entries {
            let entry = entry.map_err(|e| EngineError::Invalid(format!("cannot read {}: {e}", d.display())))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            let path = entry.path();
            let meta = std::fs::metadata(&path).map_err(|e| EngineError::Invalid(format!("{}: {e}", path.display())))?;
            if meta.is_dir() {
                stack.push(path);
                continue;
            }
            let rel = path
                .strip_prefix(dir)
                .map(|p| p.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect::<Vec<_>>().join("/"))
                .unwrap_or(name);
            if meta.len() > MAX_FILE_BYTES {
                return Err(EngineError::Invalid(format!("{rel}: larger than {} MiB", MAX_FILE_BYTES / 1024 / 1024)));
            }
            let text = std::fs::read(&path).map_err(|e| EngineError::Invalid(format!("{rel}: {e}")))?;
            let text = String::from_utf8(text).map_err(|_| EngineError::Invalid(format!("{rel}: not UTF-8 text")))?;
            out.insert(rel, text);
            if out.len() > MAX_FILES {
                return Err(EngineError::Invalid(format!("{} holds more than {MAX_FILES} files", dir.display())));
            }
        }
    }
    Ok(out)
}

/// Writes files under `dir`, creating folders. Refuses to overwrite a file whose
/// content differs, so an export never clobbers someone's edits.
pub fn write_dir(dir: &Path, files: &BTreeMap<String, String>) -> Result<usize, EngineError> {
    for (rel, text) in files {
        if rel.split('/').any(|part| part == ".." || part.is_empty()) || rel.starts_with('/') {
            return Err(EngineError::Invalid(format!("refusing to write outside {}: {rel}", dir.display())));
        }
        let path = dir.join(rel);
        if let Ok(existing) = std::fs::read_to_string(&path) {
            if existing != *text {
                return Err(EngineError::Conflict { what: "file with other content", key: path.display().to_string() });
            }
        }
    }
    for (rel, text) in files {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| EngineError::Invalid(format!("{}: {e}", parent.display())))?;
        }
        std::fs::write(&path, text).map_err(|e| EngineError::Invalid(format!("{}: {e}", path.display())))?;
    }
    Ok(files.len())
}
