//! memcached's item limit. memcached drops every item larger than its `item_size_max` (1 MiB by
//! default) without an error, and many of the crates sccache stores are larger: they miss every
//! time, and all the user sees is a low hit rate. So the set-up and `doctor` ask the server.

use std::{
    io::{Read, Write},
    net::{TcpStream, ToSocketAddrs},
    time::Duration,
};

use crate::{output::human_bytes, secrets};

/// Below this, the larger compiled crates of an ordinary workspace are dropped.
const ENOUGH: u64 = 64 << 20;
pub(super) const FIX: &str = "start memcached with a larger item limit, such as `memcached -I 128m -m 1024` (its memory, -m, must be at least twice -I)";

/// What is wrong with the item limit of the memcached at `endpoint` (`tcp://[user:password@]host:port`),
/// if it answers and its limit is too small.
pub(super) fn small_item_limit(endpoint: &str) -> Option<String> {
    let limit = item_size_max(endpoint)?;
    (limit < ENOUGH).then(|| {
        format!(
            "the memcached at {} keeps no item over {}, so sccache's larger compiled crates are dropped without an \
             error and miss every time",
            secrets::redact(endpoint),
            human_bytes(limit)
        )
    })
}

/// The server's `item_size_max`, from `stats settings`; `None` if it does not answer in time (a
/// server that wants a login answers the text protocol with an error).
fn item_size_max(endpoint: &str) -> Option<u64> {
    let address = endpoint.strip_prefix("tcp://")?.trim_end_matches('/');
    let address = address.rsplit_once('@').map_or(address, |(_, host)| host);
    let timeout = Duration::from_secs(2);
    let socket = address.to_socket_addrs().ok()?.next()?;
    let mut stream = TcpStream::connect_timeout(&socket, timeout).ok()?;
    stream.set_read_timeout(Some(timeout)).ok()?;
    // `quit` makes the server close the connection once it has answered.
    stream.write_all(b"stats settings\r\nquit\r\n").ok()?;
    let mut answer = String::new();
    stream.take(1 << 20).read_to_string(&mut answer).ok()?;
    parse_item_size_max(&answer)
}

fn parse_item_size_max(answer: &str) -> Option<u64> {
    answer.lines().find_map(|line| line.strip_prefix("STAT item_size_max "))?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_is_read_from_the_settings_and_anything_else_is_no_answer() {
        let answer = "STAT maxbytes 67108864\r\nSTAT item_size_max 1048576\r\nSTAT slab_chunk_max 524288\r\nEND\r\n";
        assert_eq!(parse_item_size_max(answer), Some(1 << 20));
        assert_eq!(parse_item_size_max("ERROR\r\n"), None);
        assert_eq!(item_size_max("redis://127.0.0.1:1"), None);
    }
}
