//! Secrets at rest: AES-256-GCM with a master key from `TENANTRY_MASTER_KEY` (base64
//! of 32 bytes) or a key file (created with mode 0600 on first need). Stored form:
//! `v1:` + base64(nonce ‖ ciphertext). Nothing decrypted is ever logged.

use crate::{Config, EngineError};
use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use rand::RngCore;
use std::path::Path;

pub struct MasterKey {
    cipher: Aes256Gcm,
    tag: String,
}

impl MasterKey {
    pub fn from_bytes(bytes: &[u8]) -> Result<MasterKey, EngineError> {
        if bytes.len() != 32 {
            return Err(EngineError::Secret(format!("the master key must be 32 bytes, found {}", bytes.len())));
        }
        use sha2::{Digest, Sha256};
        // One-way and short: it names this installation's databases, it reveals nothing.
        let tag = hex::encode(&Sha256::digest([b"tenantry installation tag\0".as_slice(), bytes].concat())[..4]);
        Ok(MasterKey { cipher: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(bytes)), tag })
    }

    /// Eight hex digits that tell this installation's own databases from another's
    /// on a shared server (derived from the key, so every process of it agrees).
    pub fn installation_tag(&self) -> &str {
        &self.tag
    }

    fn decode(text: &str, origin: &str) -> Result<MasterKey, EngineError> {
        let bytes = B64
            .decode(text.trim())
            .map_err(|e| EngineError::Secret(format!("{origin} is not base64: {e}")))?;
        MasterKey::from_bytes(&bytes)
    }

    /// The key from the environment, else from the key file, else a new key file.
    pub fn load_or_create(config: &Config) -> Result<MasterKey, EngineError> {
        if let Some(k) = &config.master_key {
            return MasterKey::decode(k, "TENANTRY_MASTER_KEY");
        }
        let path = &config.master_key_file;
        match std::fs::read_to_string(path) {
            Ok(text) => MasterKey::decode(&text, &path.display().to_string()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => create_key_file(path),
            Err(e) => Err(EngineError::Secret(format!("cannot read the master key file {}: {e}", path.display()))),
        }
    }

    pub fn encrypt(&self, plaintext: &str) -> Result<String, EngineError> {
        let mut nonce = [0u8; 12];
        rand::thread_rng().fill_bytes(&mut nonce);
        let sealed = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), plaintext.as_bytes())
            .map_err(|_| EngineError::Secret("encryption failed".into()))?;
        let mut out = nonce.to_vec();
        out.extend(sealed);
        Ok(format!("v1:{}", B64.encode(out)))
    }

    pub fn decrypt(&self, stored: &str) -> Result<String, EngineError> {
        let wrong = || {
            EngineError::Secret(
                "a stored secret cannot be decrypted: the master key differs from the one it was stored with".into(),
            )
        };
        let body = stored.strip_prefix("v1:").ok_or_else(wrong)?;
        let bytes = B64.decode(body).map_err(|_| wrong())?;
        if bytes.len() < 13 {
            return Err(wrong());
        }
        let (nonce, sealed) = bytes.split_at(12);
        let plain = self.cipher.decrypt(Nonce::from_slice(nonce), sealed).map_err(|_| wrong())?;
        String::from_utf8(plain).map_err(|_| wrong())
    }
}

/// Writes a new random key, readable by its owner only. `create_new` makes two
/// processes racing here agree: the loser reads the winner's key.
fn create_key_file(path: &Path) -> Result<MasterKey, EngineError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| EngineError::Secret(format!("cannot create {}: {e}", dir.display())))?;
    }
    let mut key = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut key);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut f) => {
            std::io::Write::write_all(&mut f, format!("{}\n", B64.encode(key)).as_bytes())
                .map_err(|e| EngineError::Secret(format!("cannot write {}: {e}", path.display())))?;
            tracing::info!(path = %path.display(), "created a new master key file; back it up");
            MasterKey::from_bytes(&key)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| EngineError::Secret(format!("cannot read {}: {e}", path.display())))?;
            MasterKey::decode(&text, &path.display().to_string())
        }
        Err(e) => Err(EngineError::Secret(format!("cannot create {}: {e}", path.display()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_wrong_key() {
        let k = MasterKey::from_bytes(&[7u8; 32]).unwrap();
        let sealed = k.encrypt("mysql://root:pw@h").unwrap();
        assert!(!sealed.contains("pw"));
        assert_ne!(sealed, k.encrypt("mysql://root:pw@h").unwrap(), "fresh nonce each time");
        assert_eq!(k.decrypt(&sealed).unwrap(), "mysql://root:pw@h");
        let other = MasterKey::from_bytes(&[8u8; 32]).unwrap();
        assert!(other.decrypt(&sealed).is_err());
        assert!(k.decrypt("garbage").is_err());
        assert!(MasterKey::from_bytes(&[1u8; 16]).is_err());
    }
}
