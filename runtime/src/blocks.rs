//! The variable-defining blocks of `stream {}` (`map`) compiled for the variables machinery:
//! the source value, the lookup table of [`crate::map`], and the values as complex values.

use crate::conf::{expanded, ConfigError, DirectiveExt};
use crate::log::Level;
use crate::map::{Map, MapBuilder, MapEntry};
use crate::plan::Plan;
use crate::session::Session;
use crate::variables::{Complex, VarIndex, VarSource, Variables};
use strait_parser::ast::{Config, Directive};

/// A compiled `map SOURCE $VAR { ... }` block.
#[derive(Debug, Default)]
pub struct MapBlock {
    source: Complex,
    map: Option<Map<Complex>>,
    /// Variables of the regexes' named captures, set when a regex matches.
    named: Vec<(String, VarIndex)>,
}

impl MapBlock {
    /// A slot reserved while variables are being defined.
    pub fn placeholder() -> MapBlock {
        MapBlock::default()
    }

    /// Defines the variables of the named captures of the block's regex keys, which any value
    /// of the configuration may use, before or after the block, as nginx adds them while it
    /// reads the block and resolves names only once the whole configuration was read.
    pub fn define_captures(
        d: &Directive,
        config: &Config,
        vars: &mut Variables,
    ) -> Result<(), ConfigError> {
        let Some(block) = &d.block else { return Ok(()) };
        let group_name = regex::bytes::Regex::new(r"\(\?(?:P?<|')([A-Za-z_][A-Za-z0-9_]*)[>']")
            .expect("a valid pattern");
        for entry in expanded(block, config) {
            if entry.name.value.starts_with(b"~") {
                for name in group_name.captures_iter(&entry.name.value) {
                    vars.define(&name[1], VarSource::Capture, true)?;
                }
            }
        }
        Ok(())
    }

    /// Compiles the block; `var` is the variable it defines.
    pub fn compile(
        d: &Directive,
        config: &Config,
        vars: &mut Variables,
        var: VarIndex,
    ) -> Result<MapBlock, ConfigError> {
        let values = d.values();
        let [source, _] = values.as_slice() else {
            return Err(d.error("invalid number of arguments in \"map\" directive"));
        };
        let source = Complex::compile(source, vars).map_err(|e| located(d, e))?;
        let block =
            d.block.as_ref().ok_or_else(|| d.error("directive \"map\" has no opening \"{\""))?;

        // Entries in order: `hostnames`, `volatile`, `KEY VALUE`.
        let entries = expanded(block, config);
        let mut builder = MapBuilder::new();
        for entry in entries {
            let mut tokens: Vec<&[u8]> = vec![&entry.name.value];
            tokens.extend(entry.args.iter().map(|a| a.value.as_slice()));
            match MapEntry::parse(&tokens).map_err(|e| entry.error(e.to_string()))? {
                MapEntry::Hostnames => builder.hostnames(),
                MapEntry::Volatile => builder.volatile(),
                MapEntry::Pair { key, value } => {
                    let value = Complex::compile(value, vars).map_err(|e| located(entry, e))?;
                    builder.add(key, value).map_err(|e| entry.error(e.to_string()))?;
                }
            }
        }
        let map = builder.build();

        // A volatile map is evaluated on every use.
        vars.set_cacheable(var, !map.is_volatile());
        let mut named = Vec::new();
        for name in map.capture_names() {
            let index = vars.define(name.as_bytes(), VarSource::Capture, true)?;
            named.push((name.to_string(), index));
        }
        Ok(MapBlock { source, map: Some(map), named })
    }
}

fn located(d: &Directive, e: ConfigError) -> ConfigError {
    if e.location.is_none() && !e.message.starts_with("unknown \"") {
        d.error(e.message)
    } else {
        e
    }
}

/// The value of the variable map block `index` defines, for this session.
pub fn map_value(s: &mut Session, plan: &Plan, index: usize) -> Option<Vec<u8>> {
    let block = &plan.maps[index];
    let map = block.map.as_ref()?;
    let source = s.complex(&block.source);
    let found = map.find(&source);
    if let Some(error) = &found.regex_error {
        s.log(Level::Alert, None, error);
    }

    // A regex match makes its captures the session's `$1`..`$9` and named variables.
    if let Some(captures) = found.captures {
        for (name, var) in &block.named {
            let value = captures.named().find(|(n, _)| n == name).map(|(_, v)| v.to_vec());
            s.vars.assign(*var, value.unwrap_or_default());
        }
        s.vars.captures = Some(captures);
    }
    match found.value {
        Some(value) => Some(s.complex(value)),
        None => Some(Vec::new()),
    }
}

/// A compiled `geo [$SOURCE] $VAR { ... }` block.
#[derive(Debug, Default)]
pub struct GeoBlock {
    /// The source value; `None`: the client address.
    source: Option<Complex>,
    geo: Option<crate::geo::Geo>,
}

impl GeoBlock {
    /// Compiles the block; `var` is the variable it defines.
    pub fn compile(
        d: &Directive,
        config: &Config,
        vars: &mut Variables,
        var: VarIndex,
    ) -> Result<GeoBlock, ConfigError> {
        let values = d.values();
        let source = match values.as_slice() {
            [_] => None,
            [source, _] => Some(Complex::compile(source, vars).map_err(|e| located(d, e))?),
            _ => return Err(d.error("invalid number of arguments in \"geo\" directive")),
        };
        let block =
            d.block.as_ref().ok_or_else(|| d.error("directive \"geo\" has no opening \"{\""))?;
        let mut builder = crate::geo::GeoBuilder::new();
        for entry in expanded(block, config) {
            let mut tokens: Vec<&[u8]> = vec![&entry.name.value];
            tokens.extend(entry.args.iter().map(|a| a.value.as_slice()));
            // nginx's `[warn]` lines about duplicate networks do not stop the load.
            builder.line(&tokens).map_err(|e| entry.error(e.to_string()))?;
        }
        let geo = builder.build();
        vars.set_cacheable(var, !geo.is_volatile());
        Ok(GeoBlock { source, geo: Some(geo) })
    }
}

/// The value of the variable geo block `index` defines, for this session.
pub fn geo_value(s: &mut Session, plan: &Plan, index: usize) -> Option<Vec<u8>> {
    let block = &plan.geos[index];
    let geo = block.geo.as_ref()?;
    let value = match &block.source {
        Some(source) => {
            let text = s.complex(source);
            geo.find_text(Some(&text))
        }
        None => match &s.client {
            crate::session::ClientAddr::Inet(addr) => geo.find_addr(Some(addr.ip())),
            crate::session::ClientAddr::Unix => geo.find_addr(None),
        },
    };
    Some(value.to_vec())
}

/// A compiled `split_clients SOURCE $VAR { ... }` block.
#[derive(Debug, Default)]
pub struct SplitClientsBlock {
    source: Complex,
    split: Option<crate::split_clients::SplitClients>,
}

impl SplitClientsBlock {
    /// Compiles the block.
    pub fn compile(
        d: &Directive,
        config: &Config,
        vars: &mut Variables,
    ) -> Result<SplitClientsBlock, ConfigError> {
        let values = d.values();
        let [source, _] = values.as_slice() else {
            return Err(d.error("invalid number of arguments in \"split_clients\" directive"));
        };
        let source = Complex::compile(source, vars).map_err(|e| located(d, e))?;
        let block = d
            .block
            .as_ref()
            .ok_or_else(|| d.error("directive \"split_clients\" has no opening \"{\""))?;
        let mut builder = crate::split_clients::SplitClientsBuilder::new();
        for entry in expanded(block, config) {
            let mut tokens: Vec<&[u8]> = vec![&entry.name.value];
            tokens.extend(entry.args.iter().map(|a| a.value.as_slice()));
            builder.line(&tokens).map_err(|e| entry.error(e.to_string()))?;
        }
        let split = builder.build().map_err(|e| d.error(e.to_string()))?;
        Ok(SplitClientsBlock { source, split: Some(split) })
    }
}

/// The value of the variable split_clients block `index` defines, for this session.
pub fn split_clients_value(s: &mut Session, plan: &Plan, index: usize) -> Option<Vec<u8>> {
    let block = &plan.split_clients[index];
    let split = block.split.as_ref()?;
    let source = s.complex(&block.source);
    Some(split.find(&source).to_vec())
}
