//! The test suite's HTTP server as a program, for the C demos and examples:
//! prints `http=ADDR https=ADDR ca=PATH` on one line, then serves until
//! killed. Routes: see tests/api/server.rs.

#[path = "../tests/api/server.rs"]
#[allow(dead_code)]
mod server;

use std::io::Write;

fn main() {
    let s = server::server();
    println!(
        "http={} https={} ca={}",
        s.http,
        s.https,
        s.ca_file.display()
    );
    std::io::stdout().flush().unwrap();
    loop {
        std::thread::park();
    }
}
