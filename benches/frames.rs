//! Criterion micro-benchmarks of the pure protocol core: frame encoding
//! (`messages_frame`, `CloseReason::frame`), JSON quoting (`quote`) and decoding
//! (`decode_array`, `decode_websocket`), each on ASCII, escapable-unicode and large inputs.
//! Run with `cargo bench --bench frames`; not part of `cargo test`.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use sockjs_server::protocol::{
    CloseReason, Message, decode_array, decode_websocket, messages_frame, quote,
};

/// The inputs every group runs on: (name, text).
fn inputs() -> Vec<(&'static str, String)> {
    vec![
        ("ascii-32B", "x".repeat(32)),
        ("ascii-1KiB", "hello world, ".repeat(79)),
        // Characters sockjs-node escapes as \uxxxx (control, zero-width, surrogate-adjacent).
        (
            "escapable-1KiB",
            "a\u{0}\u{200c}\u{2028}\u{fff0}\"\\\n".repeat(64),
        ),
        ("unicode-1KiB", "żółć 日本語 ".repeat(52)),
        ("ascii-64KiB", "0123456789abcdef".repeat(4096)),
    ]
}

fn encoding(c: &mut Criterion) {
    let mut group = c.benchmark_group("messages_frame");
    for (name, text) in inputs() {
        let one = [Message::new(text.clone())];
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_with_input(BenchmarkId::new("one", name), &one, |b, m| {
            b.iter(|| messages_frame(black_box(m.iter())))
        });
        let batch: Vec<Message> = (0..16).map(|_| Message::new(text.clone())).collect();
        group.throughput(Throughput::Bytes(16 * text.len() as u64));
        group.bench_with_input(BenchmarkId::new("batch-16", name), &batch, |b, m| {
            b.iter(|| messages_frame(black_box(m.iter())))
        });
    }
    group.finish();
    let mut group = c.benchmark_group("close_frame");
    let custom = CloseReason::new(3000, "a reason with \"quotes\" and ünïcode");
    group.bench_function("fixed", |b| {
        b.iter(|| black_box(&CloseReason::GO_AWAY).frame())
    });
    group.bench_function("custom", |b| b.iter(|| black_box(&custom).frame()));
    group.finish();
}

fn quoting(c: &mut Criterion) {
    let mut group = c.benchmark_group("quote");
    for (name, text) in inputs() {
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(name), &text, |b, t| {
            b.iter(|| quote(black_box(t)))
        });
    }
    group.finish();
}

fn decoding(c: &mut Criterion) {
    let mut group = c.benchmark_group("decode");
    for (name, text) in inputs() {
        // What a client sends: a JSON array of messages (here 4 copies).
        let body = serde_json::to_string(&vec![text.as_str(); 4]).unwrap_or_default();
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_with_input(BenchmarkId::new("array", name), &body, |b, body| {
            b.iter(|| decode_array(black_box(body.as_bytes())))
        });
        group.bench_with_input(BenchmarkId::new("websocket", name), &body, |b, body| {
            b.iter(|| decode_websocket(black_box(body)))
        });
    }
    group.finish();
}

criterion_group!(benches, encoding, quoting, decoding);
criterion_main!(benches);
