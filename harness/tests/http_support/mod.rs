//! Shared by the tests that serve raw HTTP/1.1 themselves (faults, live_network): reading one request off a
//! socket, as a loopback server written in the test needs to before it answers.

use std::time::Duration;

use tokio::io::AsyncReadExt;

/// Reads one HTTP/1.1 request (head and `content-length` body), giving up after 5 s without a byte; returns
/// its head (what was read, when the peer closed first).
pub async fn read_request<S: tokio::io::AsyncRead + Unpin>(socket: &mut S) -> String {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let Ok(Ok(n)) = tokio::time::timeout(Duration::from_secs(5), socket.read(&mut chunk)).await else { break };
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            let length: usize =
                head.to_ascii_lowercase().lines().find_map(|l| l.strip_prefix("content-length:")).and_then(|v| v.trim().parse().ok()).unwrap_or(0);
            if buf.len() >= end + 4 + length {
                return head;
            }
        }
    }
    String::from_utf8_lossy(&buf).into_owned()
}
