//! Our conformance suite (the `conformance` crate) against the demo services, in-process.

mod common;

use common::TestServer;
use sockjs_server::{Config, demo};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_services_pass_every_conformance_check() {
    let server = TestServer::start(demo::mounts(&Config::default()).expect("demo config"));
    let target = conformance::Target::parse(&server.url()).expect("url");
    let report = conformance::run(target, None, false, false).await;
    assert!(
        report.failed.is_empty(),
        "failed checks: {:#?}",
        report.failed
    );
    assert_eq!(report.passed.len(), conformance::list(None).len());
    assert!(
        report.passed.len() >= 69,
        "only {} checks ran",
        report.passed.len()
    );
}
