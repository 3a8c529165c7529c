//! `$TEST_NGINX_*` expansion (only where Test::Nginx expands), with `$TEST_NGINX_RAND_PORT_N`
//! drawn from [`crate::ports`].

use std::collections::{BTreeMap, BTreeSet};

use crate::error::BailOut;

/// The variables a block's expansion sees, and the random ports it has drawn so far.
#[derive(Debug)]
pub struct Expander<'a> {
    /// `TEST_NGINX_*` variables: the process environment plus the runner's defaults.
    pub vars: &'a BTreeMap<String, String>,
    /// `TEST_NGINX_RAND_PORT_N` values drawn for this block (stable within the block).
    pub rand_ports: BTreeMap<String, u16>,
    /// Ports that must not be drawn (the stream ports of this run).
    pub reserved: BTreeSet<u16>,
    /// The `.t` file, for messages.
    pub file: String,
    /// The block name, for messages.
    pub block: String,
}

impl Expander<'_> {
    /// Replaces each `$TEST_NGINX_[_A-Z0-9]+` in `text`; an undefined variable stops the run.
    pub fn expand(&mut self, text: &str) -> Result<String, BailOut> {
        const PREFIX: &str = "$TEST_NGINX_";
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(at) = rest.find(PREFIX) {
            out.push_str(&rest[..at]);
            let after = &rest[at + PREFIX.len()..];
            let len = after
                .bytes()
                .take_while(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b'_')
                .count();
            if len == 0 {
                out.push_str(PREFIX);
                rest = after;
                continue;
            }
            let name = format!("TEST_NGINX_{}", &after[..len]);
            out.push_str(&self.lookup(&name)?);
            rest = &after[len..];
        }
        out.push_str(rest);
        Ok(out)
    }

    /// The value of one variable: a drawn port for `TEST_NGINX_RAND_PORT_N`, else the
    /// variable's value.
    fn lookup(&mut self, name: &str) -> Result<String, BailOut> {
        let is_rand_port = name
            .strip_prefix("TEST_NGINX_RAND_PORT_")
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        if is_rand_port {
            if let Some(port) = self.rand_ports.get(name) {
                return Ok(port.to_string());
            }
            let mut used = self.reserved.clone();
            used.extend(self.rand_ports.values().copied());
            let port = crate::ports::free_port(&used)?;
            self.rand_ports.insert(name.to_string(), port);
            return Ok(port.to_string());
        }
        self.vars.get(name).cloned().ok_or_else(|| BailOut::UndefinedEnv {
            file: self.file.clone(),
            block: self.block.clone(),
            name: name.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expander(vars: &BTreeMap<String, String>) -> Expander<'_> {
        Expander {
            vars,
            rand_ports: BTreeMap::new(),
            reserved: BTreeSet::new(),
            file: "t/x.t".into(),
            block: "TEST 1".into(),
        }
    }

    #[test]
    fn expands_defined_variables_only_in_upper_case() {
        let vars = BTreeMap::from([("TEST_NGINX_A_1".to_string(), "v".to_string())]);
        let mut ex = expander(&vars);
        assert_eq!(
            ex.expand("x $TEST_NGINX_A_1; $test_nginx_a $TEST_NGINX_").unwrap(),
            "x v; $test_nginx_a $TEST_NGINX_"
        );
    }

    #[test]
    fn undefined_variable_stops_the_run() {
        let vars = BTreeMap::new();
        let err = expander(&vars).expand("listen $TEST_NGINX_NOPE;").unwrap_err();
        assert_eq!(err.to_string(), "t/x.t: TEST 1 - No environment TEST_NGINX_NOPE defined.");
    }

    #[test]
    fn random_ports_are_stable_within_a_block_and_distinct() {
        let vars = BTreeMap::new();
        let mut ex = expander(&vars);
        let a = ex.expand("$TEST_NGINX_RAND_PORT_1").unwrap();
        let b = ex.expand("$TEST_NGINX_RAND_PORT_1 $TEST_NGINX_RAND_PORT_2").unwrap();
        let (b1, b2) = b.split_once(' ').unwrap();
        assert_eq!(a, b1);
        assert_ne!(b1, b2);
        let port: u16 = a.parse().unwrap();
        assert!(std::net::TcpListener::bind(("127.0.0.1", port)).is_ok());
    }
}
