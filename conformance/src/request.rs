//! Requests as written on the wire: any method, version, headers, and a
//! body with or without an automatic `Content-Length`.

/// A request to be written verbatim onto the wire.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub version: &'static str,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
    /// When false, no `Content-Length` is added automatically.
    pub auto_length: bool,
}

impl Request {
    pub fn new(method: &str, path: &str) -> Request {
        Request {
            method: method.to_string(),
            path: path.to_string(),
            version: "1.1",
            headers: Vec::new(),
            body: None,
            auto_length: true,
        }
    }
    pub fn get(path: &str) -> Request {
        Request::new("GET", path)
    }
    /// A POST; without a body it is sent with `Content-Length: 0`.
    pub fn post(path: &str) -> Request {
        Request::new("POST", path)
    }
    pub fn options(path: &str) -> Request {
        Request::new("OPTIONS", path)
    }
    pub fn header(mut self, name: &str, value: &str) -> Request {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Request {
        self.body = Some(body.into());
        self
    }
    pub fn version(mut self, version: &'static str) -> Request {
        self.version = version;
        self
    }
    /// Do not add a `Content-Length` header, even for a POST.
    pub fn without_length(mut self) -> Request {
        self.auto_length = false;
        self
    }
    /// A short `METHOD path` label for messages.
    pub fn label(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    pub(crate) fn has_header(&self, name: &str) -> bool {
        self.headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case(name))
    }

    pub(crate) fn encode(&self, authority: &str) -> Vec<u8> {
        let mut out = format!("{} {} HTTP/{}\r\n", self.method, self.path, self.version);
        if !self.has_header("host") {
            out.push_str(&format!("Host: {authority}\r\n"));
        }
        for (k, v) in &self.headers {
            out.push_str(&format!("{k}: {v}\r\n"));
        }
        if self.auto_length && !self.has_header("content-length") {
            match &self.body {
                Some(b) => out.push_str(&format!("Content-Length: {}\r\n", b.len())),
                None if self.method == "POST" => out.push_str("Content-Length: 0\r\n"),
                None => {}
            }
        }
        out.push_str("\r\n");
        let mut bytes = out.into_bytes();
        if let Some(b) = &self.body {
            bytes.extend_from_slice(b);
        }
        bytes
    }
}
