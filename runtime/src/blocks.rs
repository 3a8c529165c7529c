//! The variable-defining blocks of `stream {}` (`map`, `geo`, `split_clients`) as the
//! variables machinery evaluates them.

use crate::conf::ConfigError;
use crate::plan::Plan;
use crate::session::Session;
use crate::variables::Variables;
use strait_parser::ast::{Config, Directive};

/// A compiled `map` block.
#[derive(Debug)]
pub struct MapBlock {}

impl MapBlock {
    /// A slot reserved while variables are being defined.
    pub fn placeholder() -> MapBlock {
        MapBlock {}
    }

    /// Compiles `map SOURCE $VAR { ... }`.
    pub fn compile(
        d: &Directive,
        _config: &Config,
        _vars: &mut Variables,
    ) -> Result<MapBlock, ConfigError> {
        Err(crate::conf::DirectiveExt::error(d, "\"map\" directive is not supported by strait yet"))
    }
}

/// The value of the variable a `map` defines.
pub fn map_value(_s: &mut Session, _plan: &Plan, _index: usize) -> Option<Vec<u8>> {
    None
}

/// The value of the variable a `geo` defines.
pub fn geo_value(_s: &mut Session, _plan: &Plan, _index: usize) -> Option<Vec<u8>> {
    None
}

/// The value of the variable a `split_clients` defines.
pub fn split_clients_value(_s: &mut Session, _plan: &Plan, _index: usize) -> Option<Vec<u8>> {
    None
}
