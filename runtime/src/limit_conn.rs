//! The limit_conn module: `limit_conn_zone` zones counting sessions per key, the `limit_conn`
//! limits checked in the preaccess phase (after `set`), `limit_conn_log_level`,
//! `limit_conn_dry_run` and `$limit_conn_status`, as nginx 1.22 does.

use crate::conf::{parse_number, parse_size, text, ConfigError, DirectiveExt};
use crate::log::Level;
use crate::session::{status, Session};
use crate::variables::{Complex, Variables};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use strait_parser::ast::Directive;

/// One `limit_conn_zone`: its name, key and the live session counts per key value.
#[derive(Debug)]
pub struct Zone {
    /// The zone name (`limiting connections by zone "NAME"`).
    pub name: String,
    /// The key, a complex value evaluated per session.
    pub key: Complex,
    /// The key as written.
    key_text: String,
    /// Sessions currently counted, per key value.
    counts: Arc<Counts>,
}

/// The counts of a zone; kept across reloads for a zone of the same name and size, as nginx
/// keeps its shared memory zone.
#[derive(Debug, Default)]
struct Counts(Mutex<HashMap<Vec<u8>, u32>>);

/// Zones alive in this process, by name and size, so that a reload finds their counts.
static ZONES: Mutex<Vec<(String, usize, Weak<Counts>)>> = Mutex::new(Vec::new());

impl Zone {
    /// Compiles `limit_conn_zone KEY zone=NAME:SIZE`.
    pub fn compile(d: &Directive, vars: &mut Variables) -> Result<Zone, ConfigError> {
        let values = d.values();
        let [key, zone] = values.as_slice() else {
            return Err(d.error("invalid number of arguments in \"limit_conn_zone\" directive"));
        };
        let key_text = text(key);
        let key = Complex::compile(key, vars).map_err(|e| d.error(e.message))?;
        let invalid = || d.error(format!("invalid zone size \"{}\"", text(zone)));
        let spec = zone
            .strip_prefix(b"zone=")
            .ok_or_else(|| d.error(format!("invalid parameter \"{}\"", text(zone))))?;
        let colon = spec.iter().position(|&c| c == b':').ok_or_else(invalid)?;
        let name = text(&spec[..colon]);
        let size = parse_size(&spec[colon + 1..]).ok_or_else(invalid)?;
        Ok(Zone { name: name.clone(), key, key_text, counts: shared_counts(&name, size) })
    }
}

/// The counts for zone `name` of `size`: the live ones when a previous configuration had
/// the same zone.
fn shared_counts(name: &str, size: usize) -> Arc<Counts> {
    let mut zones = ZONES.lock().unwrap_or_else(|e| e.into_inner());
    zones.retain(|(_, _, weak)| weak.strong_count() > 0);
    if let Some(counts) = zones
        .iter()
        .find(|(n, s, _)| n == name && *s == size)
        .and_then(|(_, _, weak)| weak.upgrade())
    {
        return counts;
    }
    let counts = Arc::new(Counts::default());
    zones.push((name.to_string(), size, Arc::downgrade(&counts)));
    counts
}

/// One `limit_conn ZONE N`.
#[derive(Debug, Clone)]
pub struct Limit {
    /// The zone.
    pub zone: Arc<Zone>,
    /// The most sessions per key.
    pub conn: u32,
}

/// The limit_conn settings of a server.
#[derive(Debug, Clone)]
pub struct LimitConn {
    /// The limits, in configuration order.
    pub limits: Vec<Limit>,
    /// `limit_conn_log_level` (error).
    pub log_level: Level,
    /// `limit_conn_dry_run` (off).
    pub dry_run: bool,
}

/// What the preaccess check decided (`$limit_conn_status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitConnStatus {
    /// Every limit let the session through.
    Passed,
    /// A limit refused the session.
    Rejected,
    /// A limit would have refused it, in dry-run mode.
    RejectedDryRun,
}

impl LimitConnStatus {
    /// The variable's text.
    pub fn as_str(self) -> &'static str {
        match self {
            LimitConnStatus::Passed => "PASSED",
            LimitConnStatus::Rejected => "REJECTED",
            LimitConnStatus::RejectedDryRun => "REJECTED_DRY_RUN",
        }
    }
}

/// The sessions a session holds in zones; released when the session ends.
#[derive(Debug, Default)]
pub struct Held(Vec<(Arc<Counts>, Vec<u8>)>);

impl Drop for Held {
    fn drop(&mut self) {
        for (counts, key) in self.0.drain(..) {
            let mut map = counts.0.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(n) = map.get_mut(&key) {
                *n -= 1;
                if *n == 0 {
                    map.remove(&key);
                }
            }
        }
    }
}

/// Parses `limit_conn ZONE N` against the zones known so far.
pub fn parse_limit(d: &Directive, zones: &[Arc<Zone>]) -> Result<Limit, ConfigError> {
    let values = d.values();
    let [name, n] = values.as_slice() else {
        return Err(d.error("invalid number of arguments in \"limit_conn\" directive"));
    };
    let name = text(name);
    let zone = zones.iter().find(|z| z.name == name).cloned().ok_or_else(|| {
        // nginx finds the zone never sized when it creates the zones, after reading.
        let message = format!("zero size shared memory zone \"{name}\"");
        ConfigError::cycle(strait_parser::check::CycleStep::SharedMemory, message)
    })?;
    let conn = parse_number(n)
        .filter(|&n| n > 0 && n <= 65535)
        .ok_or_else(|| d.error(format!("invalid number of connections \"{}\"", text(n))))?;
    Ok(Limit { zone, conn: conn as u32 })
}

/// Parses `limit_conn_log_level info|notice|warn|error`.
pub fn parse_log_level(d: &Directive) -> Result<Level, ConfigError> {
    let value = &d.one_arg()?.value;
    match value.as_slice() {
        b"info" => Ok(Level::Info),
        b"notice" => Ok(Level::Notice),
        b"warn" => Ok(Level::Warn),
        b"error" => Ok(Level::Error),
        _ => Err(d.error(format!("invalid value \"{}\"", text(value)))),
    }
}

/// The preaccess check (`ngx_stream_limit_conn_handler`): counts the session in each zone
/// whose key is not empty; the first full zone logs `limiting connections by zone "NAME"`,
/// releases what the session took, and ends it with 503 (or lets it through in dry run).
pub fn preaccess(s: &mut Session) -> Result<Held, u16> {
    let server = s.server.clone();
    let conf = &server.limit_conn;
    let mut held = Held::default();
    for limit in &conf.limits {
        // The key: empty keys are not counted, keys over 255 bytes are refused.
        let key = s.complex(&limit.zone.key);
        if key.is_empty() {
            continue;
        }
        if key.len() > 255 {
            s.log(
                Level::Error,
                None,
                &format!(
                    "the value of the \"{}\" key is more than 255 bytes: \"{}\"",
                    limit.zone.key_text,
                    String::from_utf8_lossy(&key)
                ),
            );
            continue;
        }
        s.limit_conn_status = Some(LimitConnStatus::Passed);

        // Count the session, unless the zone is full for this key.
        let full = {
            let mut map = limit.zone.counts.0.lock().unwrap_or_else(|e| e.into_inner());
            let n = map.entry(key.clone()).or_insert(0);
            if *n >= limit.conn {
                true
            } else {
                *n += 1;
                false
            }
        };
        if full {
            let dry = if conf.dry_run { ", dry run," } else { "" };
            let line = format!("limiting connections{dry} by zone \"{}\"", limit.zone.name);
            s.log(conf.log_level, None, &line);
            drop(std::mem::take(&mut held));
            if conf.dry_run {
                s.limit_conn_status = Some(LimitConnStatus::RejectedDryRun);
                return Ok(held);
            }
            s.limit_conn_status = Some(LimitConnStatus::Rejected);
            return Err(status::SERVICE_UNAVAILABLE);
        }
        held.0.push((limit.zone.counts.clone(), key));
    }
    Ok(held)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn directives(source: &str) -> Vec<Directive> {
        let config = strait_parser::parse_bytes(
            source.as_bytes(),
            "/tmp/limit_conn.conf",
            &Default::default(),
        )
        .unwrap();
        config.files[0].block.directives.clone()
    }

    #[test]
    fn zones_of_the_same_name_and_size_share_their_counts_across_configurations() {
        let mut vars = Variables::default();
        let d = directives("limit_conn_zone $binary_remote_addr zone=unit_shared:1m;");
        let first = Zone::compile(&d[0], &mut vars).unwrap();
        let again = Zone::compile(&d[0], &mut vars).unwrap();
        assert!(Arc::ptr_eq(&first.counts, &again.counts));
        let d = directives("limit_conn_zone $binary_remote_addr zone=unit_shared:2m;");
        let resized = Zone::compile(&d[0], &mut vars).unwrap();
        assert!(!Arc::ptr_eq(&first.counts, &resized.counts));
    }

    #[test]
    fn held_sessions_are_released_on_drop() {
        let counts = Arc::new(Counts::default());
        counts.0.lock().unwrap().insert(b"k".to_vec(), 2);
        let held = Held(vec![(counts.clone(), b"k".to_vec())]);
        drop(held);
        assert_eq!(counts.0.lock().unwrap().get(&b"k"[..]), Some(&1));
        drop(Held(vec![(counts.clone(), b"k".to_vec())]));
        assert!(counts.0.lock().unwrap().is_empty());
    }

    #[test]
    fn limits_name_known_zones_with_a_valid_count() {
        let mut vars = Variables::default();
        let d = directives(
            "limit_conn_zone $binary_remote_addr zone=unit_limits:1m;
             limit_conn unit_limits 3; limit_conn unit_limits 0; limit_conn nowhere 1;
             limit_conn_log_level warn; limit_conn_log_level debug;",
        );
        let zones = vec![Arc::new(Zone::compile(&d[0], &mut vars).unwrap())];
        assert_eq!(parse_limit(&d[1], &zones).unwrap().conn, 3);
        let e = parse_limit(&d[2], &zones).unwrap_err();
        assert_eq!(e.message, "invalid number of connections \"0\"");
        let e = parse_limit(&d[3], &zones).unwrap_err();
        assert_eq!(e.message, "zero size shared memory zone \"nowhere\"");
        assert_eq!(parse_log_level(&d[4]).unwrap(), Level::Warn);
        assert!(parse_log_level(&d[5]).is_err());
        assert_eq!(LimitConnStatus::RejectedDryRun.as_str(), "REJECTED_DRY_RUN");
    }
}
