//! nginx on 127.0.0.1 serving files from a temporary directory, on an
//! HTTP/1.1 port and an h2c port, for as long as the value lives.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

pub struct Nginx {
    pub dir: PathBuf,
    pub http1: u16,
    pub h2c: u16,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn write_file(path: &Path, len: u64) {
    use std::io::Write;
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let block: Vec<u8> = (0..1 << 20).map(|i| (i % 251) as u8).collect();
    let mut left = len;
    while left > 0 {
        let n = left.min(block.len() as u64) as usize;
        f.write_all(&block[..n]).unwrap();
        left -= n as u64;
    }
}

impl Nginx {
    /// Serves `files` (name, size) from a new directory.
    pub fn start(files: &[(&str, u64)]) -> Nginx {
        let dir = std::env::temp_dir().join(format!("nettask-bench-nginx-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("www")).unwrap();
        std::fs::create_dir_all(dir.join("tmp")).unwrap();
        for (name, len) in files {
            write_file(&dir.join("www").join(name), *len);
        }
        let (http1, h2c) = (free_port(), free_port());
        let conf = format!(
            r#"
daemon on;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
worker_processes 1;
{affinity}
events {{ worker_connections 4096; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    keepalive_timeout 300s;
    http2_max_concurrent_streams 256;
    client_body_temp_path {dir}/tmp;
    proxy_temp_path {dir}/tmp;
    fastcgi_temp_path {dir}/tmp;
    uwsgi_temp_path {dir}/tmp;
    scgi_temp_path {dir}/tmp;
    types {{ application/octet-stream bin; text/plain txt; }}
    server {{ listen 127.0.0.1:{http1}; root {dir}/www; }}
    server {{ listen 127.0.0.1:{h2c} http2; root {dir}/www; }}
}}
"#,
            dir = dir.display(),
            // The client side runs on CPU 0 (see main); the server gets CPU 1.
            affinity = if crate::cpu_count() >= 2 {
                "worker_cpu_affinity 10;"
            } else {
                ""
            },
        );
        std::fs::write(dir.join("nginx.conf"), conf).unwrap();
        let status = Command::new("nginx")
            .args([
                "-c",
                dir.join("nginx.conf").to_str().unwrap(),
                "-p",
                dir.to_str().unwrap(),
            ])
            .status()
            .expect("nginx is installed (scripts/bench.sh installs it)");
        assert!(
            status.success(),
            "nginx failed to start; see {}/error.log",
            dir.display()
        );
        let deadline = Instant::now() + Duration::from_secs(5);
        while TcpStream::connect(("127.0.0.1", http1)).is_err()
            || TcpStream::connect(("127.0.0.1", h2c)).is_err()
        {
            assert!(Instant::now() < deadline, "nginx did not listen");
            std::thread::sleep(Duration::from_millis(20));
        }
        Nginx { dir, http1, h2c }
    }

    pub fn url(&self, port: u16, name: &str) -> String {
        format!("http://127.0.0.1:{port}/{name}")
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        if let Ok(pid) = std::fs::read_to_string(self.dir.join("nginx.pid")) {
            let _ = Command::new("kill").arg(pid.trim()).status();
        }
        std::thread::sleep(Duration::from_millis(100));
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
