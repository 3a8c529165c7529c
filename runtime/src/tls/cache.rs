//! Caches of loaded certificates and keys: parsed PEM by its content (always on, bounded
//! LRU: `data:` values, and files read afresh for each connection when
//! `proxy_ssl_certificate_cache` is `off`), and file values by `proxy_ssl_certificate_cache
//! max=N [inactive=] [valid=]` with nginx 1.27.4's rules.

use std::num::NonZeroUsize;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use lru::LruCache;
use strait_parser::values::{parse_int, parse_time, TimeUnit};

use super::certificate::{
    self, CertificateChain, LoadError, ObjectKind, PrivateKey, Source, DATA_PREFIX,
};

/// Parsed objects by the PEM text they were parsed from.
type ByContent<T> = Mutex<LruCache<Box<[u8]>, Arc<T>>>;
use super::password::Passwords;

/// How many certificates parsed from PEM text (and as many keys) are kept by content.
pub const DATA_CACHE_ENTRIES: usize = 1024;

/// `proxy_ssl_certificate_cache max=N [inactive=time] [valid=time]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CacheSettings {
    /// `max=`: the most file entries kept.
    pub max: usize,
    /// `inactive=` (10s): entries unused this long are evicted first.
    pub inactive: Duration,
    /// `valid=` (60s): after this a file entry is checked against the file (mtime, inode).
    pub valid: Duration,
}

/// Parses the arguments of `proxy_ssl_certificate_cache` / `ssl_certificate_cache` (without
/// the directive name): `Ok(None)` for `off`; errors are nginx's message texts.
pub fn parse_cache_directive(name: &str, args: &[&[u8]]) -> Result<Option<CacheSettings>, String> {
    if args.first() == Some(&&b"off"[..]) {
        return Ok(None);
    }
    let mut max = 0;
    let mut inactive = Duration::from_secs(10);
    let mut valid = Duration::from_secs(60);
    for arg in args {
        let invalid = || format!("invalid parameter \"{}\"", String::from_utf8_lossy(arg));
        if let Some(n) = arg.strip_prefix(b"max=") {
            max = parse_int(n).filter(|&n| n > 0).ok_or_else(invalid)? as usize;
        } else if let Some(t) = arg.strip_prefix(b"inactive=") {
            inactive = Duration::from_secs(parse_time(t, TimeUnit::Seconds).ok_or_else(invalid)?);
        } else if let Some(t) = arg.strip_prefix(b"valid=") {
            valid = Duration::from_secs(parse_time(t, TimeUnit::Seconds).ok_or_else(invalid)?);
        } else {
            return Err(invalid());
        }
    }
    if max == 0 {
        return Err(format!("\"{name}\" must have the \"max\" parameter"));
    }
    Ok(Some(CacheSettings { max, inactive, valid }))
}

/// One cached file object with what decides whether it is still good.
#[derive(Debug)]
struct FileEntry<T> {
    object: Arc<T>,
    /// When it was loaded or last confirmed against the file.
    created: Instant,
    /// When a connection last used it.
    accessed: Instant,
    mtime: Option<SystemTime>,
    inode: u64,
}

/// The file cache of one object kind, with nginx's eviction rules.
#[derive(Debug)]
struct FileCache<T> {
    settings: CacheSettings,
    entries: LruCache<Box<[u8]>, FileEntry<T>>,
}

/// The identity of a file for the `valid=` check: modification time and inode.
fn file_identity(path: &Path) -> (Option<SystemTime>, u64) {
    match std::fs::metadata(path) {
        Ok(meta) => (meta.modified().ok(), meta.ino()),
        Err(_) => (None, 0),
    }
}

impl<T> FileCache<T> {
    fn new(settings: CacheSettings) -> FileCache<T> {
        FileCache { settings, entries: LruCache::unbounded() }
    }

    /// A usable entry: younger than `valid`, or older but the file is unchanged.
    fn fetch(&mut self, value: &[u8], path: &Path, now: Instant) -> Option<Arc<T>> {
        let valid = self.settings.valid;
        let entry = self.entries.get_mut(value)?;
        if now.duration_since(entry.created) >= valid {
            let (mtime, inode) = file_identity(path);
            if mtime.is_none() || mtime != entry.mtime || inode != entry.inode {
                self.entries.pop(value);
                return None;
            }
            entry.created = now;
        }
        entry.accessed = now;
        Some(entry.object.clone())
    }

    /// Evicts up to `n` entries idle longer than `inactive`, oldest first.
    fn expire_idle(&mut self, n: usize, now: Instant) {
        for _ in 0..n {
            let idle = match self.entries.peek_lru() {
                Some((_, e)) => now.duration_since(e.accessed) > self.settings.inactive,
                None => false,
            };
            if !idle {
                break;
            }
            self.entries.pop_lru();
        }
    }

    /// Stores a fresh object: first up to two idle entries go; if the cache is still full,
    /// the least recently used entry goes, and up to two more idle ones.
    fn insert(&mut self, value: &[u8], path: &Path, object: Arc<T>, now: Instant) {
        self.expire_idle(2, now);
        if self.entries.len() >= self.settings.max {
            self.entries.pop_lru();
            self.expire_idle(2, now);
        }
        let (mtime, inode) = file_identity(path);
        let entry = FileEntry { object, created: now, accessed: now, mtime, inode };
        self.entries.put(value.into(), entry);
    }
}

/// Locks a cache; a panic while holding it cannot leave an entry half-written, so a poisoned
/// lock is still usable.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Loaded certificates and keys for one configuration. A value is PEM text (`data:`) or a
/// file: with `*_certificate_cache` on, a file is read once per `valid=` period; with it off,
/// it is read for every call, as nginx does. PEM text, inline or just read, is parsed once per
/// distinct content: the same bytes always parse to the same object, so a file read afresh
/// costs a read, not a parse, until its content changes. Encrypted keys are never kept.
#[derive(Debug)]
pub struct ObjectCache {
    prefix: PathBuf,
    certificates_by_content: ByContent<CertificateChain>,
    keys_by_content: ByContent<PrivateKey>,
    file_certificates: Option<Mutex<FileCache<CertificateChain>>>,
    file_keys: Option<Mutex<FileCache<PrivateKey>>>,
}

impl ObjectCache {
    /// A cache resolving relative paths against `prefix` (the config prefix).
    pub fn new(prefix: &Path, files: Option<CacheSettings>) -> ObjectCache {
        let capacity = NonZeroUsize::new(DATA_CACHE_ENTRIES).unwrap_or(NonZeroUsize::MIN);
        ObjectCache {
            prefix: prefix.to_path_buf(),
            certificates_by_content: Mutex::new(LruCache::new(capacity)),
            keys_by_content: Mutex::new(LruCache::new(capacity)),
            file_certificates: files.map(|s| Mutex::new(FileCache::new(s))),
            file_keys: files.map(|s| Mutex::new(FileCache::new(s))),
        }
    }

    /// The config prefix relative paths are resolved against.
    pub fn prefix(&self) -> &Path {
        &self.prefix
    }

    /// The certificate (and chain) an evaluated value names.
    pub fn certificate(&self, value: &[u8]) -> Result<Arc<CertificateChain>, LoadError> {
        self.certificate_at(value, Instant::now())
    }

    fn certificate_at(
        &self,
        value: &[u8],
        now: Instant,
    ) -> Result<Arc<CertificateChain>, LoadError> {
        // Step: files through the file cache, when it is on.
        let is_data = value.starts_with(DATA_PREFIX);
        if let (false, Some(files)) = (is_data, &self.file_certificates) {
            let path = self.path_of(ObjectKind::Certificate, value);
            if let Some(hit) = lock(files).fetch(value, &path, now) {
                return Ok(hit);
            }
            let loaded = Arc::new(certificate::load_certificate(value, &self.prefix)?);
            lock(files).insert(value, &path, loaded.clone(), now);
            return Ok(loaded);
        }

        // Step: `data:` text, or a file read now, parsed once per content.
        let pem = certificate::read_value(ObjectKind::Certificate, value, &self.prefix)?;
        if let Some(hit) = lock(&self.certificates_by_content).get(&pem[..]) {
            return Ok(hit.clone());
        }
        let shown = certificate::shown(ObjectKind::Certificate, value, &self.prefix);
        let loaded = Arc::new(certificate::certificate_from_pem(&pem, &shown)?);
        lock(&self.certificates_by_content).put(pem.into(), loaded.clone());
        Ok(loaded)
    }

    /// The private key an evaluated value names; encrypted keys are never cached.
    pub fn key(&self, value: &[u8], passwords: &Passwords) -> Result<Arc<PrivateKey>, LoadError> {
        self.key_at(value, passwords, Instant::now())
    }

    fn key_at(
        &self,
        value: &[u8],
        passwords: &Passwords,
        now: Instant,
    ) -> Result<Arc<PrivateKey>, LoadError> {
        // Step: files through the file cache, when it is on.
        let is_data = value.starts_with(DATA_PREFIX);
        if let (false, Some(files)) = (is_data, &self.file_keys) {
            let path = self.path_of(ObjectKind::Key, value);
            if let Some(hit) = lock(files).fetch(value, &path, now) {
                return Ok(hit);
            }
            let loaded = Arc::new(certificate::load_key(value, &self.prefix, passwords)?);
            if !loaded.encrypted {
                lock(files).insert(value, &path, loaded.clone(), now);
            }
            return Ok(loaded);
        }

        // Step: `data:` text, or a file read now, parsed once per content (unless encrypted).
        let pem = certificate::read_value(ObjectKind::Key, value, &self.prefix)?;
        if let Some(hit) = lock(&self.keys_by_content).get(&pem[..]) {
            return Ok(hit.clone());
        }
        let shown = certificate::shown(ObjectKind::Key, value, &self.prefix);
        let loaded = Arc::new(certificate::key_from_pem(&pem, &shown, passwords)?);
        if !loaded.encrypted {
            lock(&self.keys_by_content).put(pem.into(), loaded.clone());
        }
        Ok(loaded)
    }

    /// Drops a cached object (after a certificate/key mismatch, nginx reloads once). Objects
    /// kept by content need no dropping when they come from a file read afresh: the next call
    /// reads the file again.
    pub fn invalidate(&self, kind: ObjectKind, value: &[u8]) {
        let data = value.strip_prefix(DATA_PREFIX);
        match (kind, data) {
            (ObjectKind::Certificate, Some(pem)) => {
                lock(&self.certificates_by_content).pop(pem);
            }
            (ObjectKind::Key, Some(pem)) => {
                lock(&self.keys_by_content).pop(pem);
            }
            (ObjectKind::Certificate, None) => {
                if let Some(files) = &self.file_certificates {
                    lock(files).entries.pop(value);
                }
            }
            (ObjectKind::Key, None) => {
                if let Some(files) = &self.file_keys {
                    lock(files).entries.pop(value);
                }
            }
        }
    }

    /// The absolute path a file value names.
    fn path_of(&self, kind: ObjectKind, value: &[u8]) -> PathBuf {
        match Source::classify(kind, value, &self.prefix) {
            Source::File(path) => path,
            _ => PathBuf::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pki() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/pki")
    }

    fn settings(max: usize) -> CacheSettings {
        CacheSettings { max, inactive: Duration::from_secs(10), valid: Duration::from_secs(60) }
    }

    #[test]
    fn directive_parsing_matches_nginx() {
        let name = "proxy_ssl_certificate_cache";
        assert_eq!(parse_cache_directive(name, &[b"off"]), Ok(None));
        assert_eq!(parse_cache_directive(name, &[b"max=5"]), Ok(Some(settings(5))));
        assert_eq!(
            parse_cache_directive(name, &[b"max=2", b"inactive=1m", b"valid=2h"]),
            Ok(Some(CacheSettings {
                max: 2,
                inactive: Duration::from_secs(60),
                valid: Duration::from_secs(7200)
            }))
        );
        assert_eq!(
            parse_cache_directive(name, &[b"inactive=1m"]),
            Err("\"proxy_ssl_certificate_cache\" must have the \"max\" parameter".into())
        );
        assert_eq!(
            parse_cache_directive(name, &[b"max=0"]),
            Err("invalid parameter \"max=0\"".into())
        );
        assert_eq!(
            parse_cache_directive(name, &[b"max=1", b"x"]),
            Err("invalid parameter \"x\"".into())
        );
        assert_eq!(
            parse_cache_directive(name, &[b"max=1", b"valid=zz"]),
            Err("invalid parameter \"valid=zz\"".into())
        );
    }

    #[test]
    fn data_values_are_shared_by_content() {
        let cache = ObjectCache::new(&pki(), None);
        let mut value = b"data:".to_vec();
        value.extend(std::fs::read(pki().join("client-a.crt")).unwrap());
        let first = cache.certificate(&value).unwrap();
        let second = cache.certificate(&value).unwrap();
        assert!(Arc::ptr_eq(&first, &second));
    }

    #[test]
    fn files_are_read_for_each_call_when_the_cache_is_off() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.crt");
        std::fs::copy(pki().join("client-a.crt"), &path).unwrap();
        let cache = ObjectCache::new(dir.path(), None);

        // The same bytes parse once.
        let first = cache.certificate(b"c.crt").unwrap();
        assert!(Arc::ptr_eq(&first, &cache.certificate(b"c.crt").unwrap()));

        // A changed file is seen by the very next call.
        std::fs::copy(pki().join("client-b.crt"), &path).unwrap();
        let changed = cache.certificate(b"c.crt").unwrap();
        assert_ne!(first.identity, changed.identity);

        // A file gone fails that call with nginx's text; it comes back, it loads again.
        std::fs::remove_file(&path).unwrap();
        let error = cache.certificate(b"c.crt").unwrap_err().to_string();
        assert!(error.contains("BIO_new_file() failed"), "{error}");
        std::fs::copy(pki().join("client-a.crt"), &path).unwrap();
        assert_eq!(cache.certificate(b"c.crt").unwrap().identity, first.identity);
    }

    #[test]
    fn files_and_data_values_with_the_same_text_share_the_parse() {
        let cache = ObjectCache::new(&pki(), None);
        let mut value = b"data:".to_vec();
        value.extend(std::fs::read(pki().join("client-a.key")).unwrap());
        let passwords = Passwords::default();
        let from_file = cache.key(b"client-a.key", &passwords).unwrap();
        assert!(Arc::ptr_eq(&from_file, &cache.key(&value, &passwords).unwrap()));
    }

    #[test]
    fn file_entries_follow_valid_and_file_identity() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(pki().join("client-a.crt"), dir.path().join("c.crt")).unwrap();
        let cache = ObjectCache::new(dir.path(), Some(settings(4)));
        let t0 = Instant::now();
        let first = cache.certificate_at(b"c.crt", t0).unwrap();

        // Within `valid`: a hit even if the file changed.
        std::fs::copy(pki().join("client-b.crt"), dir.path().join("c.crt.new")).unwrap();
        std::fs::rename(dir.path().join("c.crt.new"), dir.path().join("c.crt")).unwrap();
        let hit = cache.certificate_at(b"c.crt", t0 + Duration::from_secs(30)).unwrap();
        assert!(Arc::ptr_eq(&first, &hit));

        // After `valid`: the inode changed, so it is reloaded (now client-b).
        let reloaded = cache.certificate_at(b"c.crt", t0 + Duration::from_secs(61)).unwrap();
        assert!(!Arc::ptr_eq(&first, &reloaded));
        assert_ne!(first.identity, reloaded.identity);

        // After `valid` again with the file unchanged: refreshed, same object.
        let same = cache.certificate_at(b"c.crt", t0 + Duration::from_secs(200)).unwrap();
        assert!(Arc::ptr_eq(&reloaded, &same));
    }

    #[test]
    fn eviction_prefers_idle_entries_then_lru() {
        let cache = ObjectCache::new(&pki(), Some(settings(2)));
        let t0 = Instant::now();
        let a = cache.certificate_at(b"client-a.crt", t0).unwrap();
        let _b = cache.certificate_at(b"client-b.crt", t0 + Duration::from_secs(5)).unwrap();
        // Full: inserting c evicts the LRU tail (a).
        cache.certificate_at(b"client-c.crt", t0 + Duration::from_secs(6)).unwrap();
        let files = cache.file_certificates.as_ref().unwrap();
        assert_eq!(lock(files).entries.len(), 2);
        assert!(lock(files).entries.peek(&b"client-a.crt"[..]).is_none());
        // Much later, both are idle: inserting a evicts them both first.
        let a2 = cache.certificate_at(b"client-a.crt", t0 + Duration::from_secs(100)).unwrap();
        assert!(!Arc::ptr_eq(&a, &a2));
        assert_eq!(lock(files).entries.len(), 1);
    }

    #[test]
    fn encrypted_keys_are_never_cached() {
        let passwords = Passwords::read(&pki().join("password")).unwrap();
        for files in [Some(settings(8)), None] {
            let cache = ObjectCache::new(&pki(), files);
            let first = cache.key(b"client-enc.key", &passwords).unwrap();
            let second = cache.key(b"client-enc.key", &passwords).unwrap();
            assert!(!Arc::ptr_eq(&first, &second), "{files:?}");
            let plain = cache.key(b"client-a.key", &passwords).unwrap();
            assert!(Arc::ptr_eq(&plain, &cache.key(b"client-a.key", &passwords).unwrap()));
        }
    }
}
