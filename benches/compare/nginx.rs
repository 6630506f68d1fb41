//! nginx on 127.0.0.1 serving files from a temporary directory, on an
//! HTTP/1.1 port, an h2c port and an https port (HTTP/2 by ALPN, with a
//! certificate from a CA made here), for as long as the value lives. Its
//! HTTP/1.1 port also takes uploads at /upload.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

pub struct Nginx {
    pub dir: PathBuf,
    pub http1: u16,
    pub h2c: u16,
    pub tls: u16,
    /// The PEM of the CA that signed the https port's certificate.
    pub ca_file: PathBuf,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `len` bytes of a fixed pattern at `path`.
pub fn write_file(path: &Path, len: u64) {
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

/// A CA and a certificate it signs for 127.0.0.1 and localhost, written
/// to `dir`: (CA, certificate, key) paths.
fn write_certs(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "nettask bench CA");
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let mut leaf_params =
        CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
    leaf_params
        .distinguished_name
        .push(DnType::CommonName, "127.0.0.1");
    let leaf = leaf_params.signed_by(&leaf_key, &ca).unwrap();
    let paths = (
        dir.join("ca.pem"),
        dir.join("cert.pem"),
        dir.join("key.pem"),
    );
    std::fs::write(&paths.0, ca.pem()).unwrap();
    std::fs::write(&paths.1, leaf.pem()).unwrap();
    std::fs::write(&paths.2, leaf_key.serialize_pem()).unwrap();
    paths
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
        let (http1, h2c, tls, sink) = (free_port(), free_port(), free_port(), free_port());
        let (ca_file, cert, key) = write_certs(&dir);
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
    types {{ application/octet-stream bin; text/plain txt; application/json json; }}
    log_format upload '$status $request_length';
    server {{
        listen 127.0.0.1:{http1};
        root {dir}/www;
        {gzipped}
        # `return 200` would answer at once and discard the body after,
        # uncounted. Proxying buffers the whole body first (in memory: the
        # buffer is larger than any form sent, so no temp file), then sends
        # the bare request on to `sink`; the log shows what was read.
        location = /upload {{
            client_max_body_size 0;
            client_body_buffer_size 1100m;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_pass http://127.0.0.1:{sink}/;
            access_log {dir}/upload.log upload;
        }}
    }}
    server {{ listen 127.0.0.1:{sink}; return 200; }}
    server {{ listen 127.0.0.1:{h2c} http2; root {dir}/www; {gzipped} }}
    server {{
        listen 127.0.0.1:{tls} ssl http2;
        root {dir}/www;
        {gzipped}
        ssl_certificate {cert};
        ssl_certificate_key {key};
    }}
}}
"#,
            dir = dir.display(),
            cert = cert.display(),
            key = key.display(),
            // X.json is X.json.gz as it is on disk, with Content-Encoding:
            // gzip, whatever the request accepts: nginx compresses nothing.
            gzipped = "location ~ \\.json$ { gzip_static always; }",
            // The client side runs on CPU 0 (see main); the server gets CPU 1.
            affinity = if crate::cpu::cpu_count() >= 2 {
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
        while [http1, h2c, tls, sink]
            .iter()
            .any(|port| TcpStream::connect(("127.0.0.1", *port)).is_err())
        {
            assert!(Instant::now() < deadline, "nginx did not listen");
            std::thread::sleep(Duration::from_millis(20));
        }
        Nginx {
            dir,
            http1,
            h2c,
            tls,
            ca_file,
        }
    }

    /// Adds `name` with `data` to what it serves.
    pub fn put(&self, name: &str, data: &[u8]) {
        std::fs::write(self.dir.join("www").join(name), data).unwrap();
    }

    /// What /upload received so far, one (status, request length) per
    /// request, in order.
    pub fn uploads(&self) -> Vec<(u16, u64)> {
        let log = std::fs::read_to_string(self.dir.join("upload.log")).unwrap_or_default();
        log.lines()
            .map(|line| {
                let (status, len) = line.split_once(' ').expect("status length");
                (status.parse().unwrap(), len.parse().unwrap())
            })
            .collect()
    }

    pub fn url(&self, port: u16, name: &str) -> String {
        format!("http://127.0.0.1:{port}/{name}")
    }

    pub fn tls_url(&self, name: &str) -> String {
        format!("https://127.0.0.1:{}/{name}", self.tls)
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
