//! Reload under load: a bounded number of connections stream through strait while valid and
//! invalid configurations are loaded several times; every byte must arrive, no connection may
//! be refused or cut.

mod runtime_support;

use runtime_support::*;
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

/// Streams `rounds` chunks through the proxy and checks each echo.
fn stream_session(port: u16, id: usize, rounds: usize) -> Result<usize, String> {
    let mut stream =
        TcpStream::connect(("127.0.0.1", port)).map_err(|e| format!("connect: {e}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut moved = 0;
    for round in 0..rounds {
        let chunk: Vec<u8> = (0..4096).map(|i| (i + id * 31 + round * 7) as u8).collect();
        stream.write_all(&chunk).map_err(|e| format!("write {round}: {e}"))?;
        let mut back = vec![0u8; chunk.len()];
        stream.read_exact(&mut back).map_err(|e| format!("read {round}: {e}"))?;
        if back != chunk {
            return Err(format!("round {round}: bytes differ"));
        }
        moved += chunk.len();
        thread::sleep(Duration::from_millis(5));
    }
    Ok(moved)
}

#[test]
fn reloads_under_load_lose_no_byte_and_refuse_no_connection() {
    const STREAMS: usize = 16;
    const ROUNDS: usize = 300;
    let mut vars = HashMap::new();
    vars.insert("PROXY", free_port().to_string());
    vars.insert("RETURN", free_port().to_string());
    vars.insert("ECHO", echo_upstream().to_string());
    vars.insert("ANSWER", "0".to_string());
    vars.insert("EXTRA", String::new());
    let port = vars["PROXY"].parse::<u16>().unwrap();
    let ret = vars["RETURN"].parse::<u16>().unwrap();
    let mut server = Instance::start(Flavor::Strait, &config("reload_load.conf", &vars));

    // Long sessions, plus short connections opened continuously during the reloads.
    let done = Arc::new(AtomicBool::new(false));
    let short_ok = Arc::new(AtomicUsize::new(0));
    let sessions: Vec<_> =
        (0..STREAMS).map(|id| thread::spawn(move || stream_session(port, id, ROUNDS))).collect();
    let shorts: Vec<_> = (0..4)
        .map(|id| {
            let (done, short_ok) = (done.clone(), short_ok.clone());
            thread::spawn(move || -> Result<(), String> {
                while !done.load(Ordering::Relaxed) {
                    stream_session(port, 100 + id, 1)?;
                    if read_all(ret).is_empty() {
                        return Err("return answered nothing".into());
                    }
                    short_ok.fetch_add(1, Ordering::Relaxed);
                }
                Ok(())
            })
        })
        .collect();

    // Six reloads: valid ones change the answer, invalid ones must change nothing.
    for generation in 1..=6 {
        thread::sleep(Duration::from_millis(150));
        if generation % 2 == 0 {
            vars.insert("EXTRA", "bogus_directive;".to_string());
        } else {
            vars.insert("ANSWER", generation.to_string());
            vars.insert("EXTRA", String::new());
        }
        server.rewrite(&config("reload_load.conf", &vars));
        server.signal("HUP");
    }

    // Every session moved every byte; short connections never failed.
    for (id, session) in sessions.into_iter().enumerate() {
        let moved = session.join().unwrap().unwrap_or_else(|e| panic!("session {id}: {e}"));
        assert_eq!(moved, ROUNDS * 4096);
    }
    done.store(true, Ordering::Relaxed);
    for short in shorts {
        short.join().unwrap().unwrap();
    }
    assert!(short_ok.load(Ordering::Relaxed) > 0);
    assert_eq!(read_all(ret), b"5");
    let log = server.error_log();
    assert_eq!(log.matches("signal 1 (SIGHUP) received from ").count(), 6);
    assert_eq!(log.matches(": reconfiguring\n").count(), 6);
    assert_eq!(log.matches("unknown directive \"bogus_directive\"").count(), 3);
    assert!(server.quit().success());
    assert!(!server.error_log().contains("[alert]"));
}
