//! Every STOMP header name the server reads or writes, each once, with the place in the
//! specification (or the broker's or framework's documentation) that fixes it. Section names
//! are those of STOMP 1.2 unless another version is named.
//!
//! Owns: header names only. Must not: hold values, policy or logic, or import anything (it
//! sits at the bottom of the STOMP layer, below the codec).

// Frames and bodies.

/// The body's length in octets; the body may then hold NUL octets ("Header content-length").
pub const CONTENT_LENGTH: &str = "content-length";
/// The body's MIME type ("Header content-type").
pub const CONTENT_TYPE: &str = "content-type";
/// Asks for a RECEIPT once the frame is processed ("Header receipt").
pub const RECEIPT: &str = "receipt";
/// The RECEIPT (and ERROR) header naming the frame's `receipt` ("RECEIPT", "ERROR").
pub const RECEIPT_ID: &str = "receipt-id";

// Connecting.

/// The versions a client accepts; absent means 1.0 ("Protocol Negotiation").
pub const ACCEPT_VERSION: &str = "accept-version";
/// The virtual host a client connects to ("CONNECT or STOMP Frame"; RabbitMQ: the vhost).
pub const HOST: &str = "host";
/// CONNECT credentials: the user ("CONNECT or STOMP Frame").
pub const LOGIN: &str = "login";
/// CONNECT credentials: the password ("CONNECT or STOMP Frame").
pub const PASSCODE: &str = "passcode";
/// Heart-beat intervals, `cx,cy` in milliseconds ("Heart-beating").
pub const HEART_BEAT: &str = "heart-beat";
/// The agreed version in CONNECTED ("CONNECTED Frame"), and the supported versions in an
/// ERROR after a failed negotiation ("Protocol Negotiation").
pub const VERSION: &str = "version";
/// The CONNECTED header naming the server ("CONNECTED Frame").
pub const SERVER: &str = "server";
/// The CONNECTED header with a session id ("CONNECTED Frame").
pub const SESSION: &str = "session";
/// The CONNECTED header naming the principal (Spring's `user-name`; not in the spec).
pub const USER_NAME: &str = "user-name";
/// A CONNECT header carrying a bearer token (our convention, as Spring's examples use).
pub const TOKEN: &str = "token";
/// A CONNECT header carrying `Bearer <token>` (Spring's `Authorization` convention).
pub const AUTHORIZATION: &str = "Authorization";

// Messaging.

/// Where a SEND goes, what a SUBSCRIBE listens to, where a MESSAGE came from ("SEND",
/// "SUBSCRIBE", "MESSAGE").
pub const DESTINATION: &str = "destination";
/// A subscription's id ("SUBSCRIBE id Header"); the id an ACK or NACK names ("ACK").
pub const ID: &str = "id";
/// A subscription's ack mode ("SUBSCRIBE ack Header"); in a MESSAGE, the id to ACK ("MESSAGE").
pub const ACK: &str = "ack";
/// A MESSAGE's id; what an ACK or NACK names in 1.0 and 1.1 (1.1 "ACK").
pub const MESSAGE_ID: &str = "message-id";
/// The subscription a MESSAGE is delivered to ("MESSAGE").
pub const SUBSCRIPTION: &str = "subscription";
/// The transaction a SEND, ACK or NACK belongs to, or that BEGIN, COMMIT or ABORT names
/// ("BEGIN").
pub const TRANSACTION: &str = "transaction";
/// The ERROR header with a short description ("ERROR").
pub const MESSAGE: &str = "message";

// Broker-specific SUBSCRIBE headers (RabbitMQ STOMP guide, "Queue Properties").

/// The queue is used by one connection only and deleted when it closes.
pub const EXCLUSIVE: &str = "exclusive";
/// The queue is deleted when its last consumer leaves.
pub const AUTO_DELETE: &str = "auto-delete";
/// Whether the queue survives a broker restart.
pub const DURABLE: &str = "durable";

// Presence MESSAGEs (ours; docs/stomp.md "Presence").

/// What a presence MESSAGE is: `snapshot`, `join` or `leave`.
pub const PRESENCE: &str = "presence";
/// The user a presence `join` or `leave` is about.
pub const USER: &str = "user";

// Message history and recovery (our extension, docs/stomp.md "History and recovery").

/// A MESSAGE's position in its destination's history: increasing per destination (through
/// the relay: RabbitMQ's stream offset + 1, not contiguous).
pub const OFFSET: &str = "offset";
/// The history a MESSAGE's `offset` belongs to: opaque; a client sends back the one of the
/// last MESSAGE it processed. Also in the RECEIPT of a SUBSCRIBE to a history destination.
pub const EPOCH: &str = "epoch";
/// SUBSCRIBE: the `offset` of the last MESSAGE the client processed; it asks for what came
/// after, then the live stream.
pub const RECOVER_OFFSET: &str = "recover-offset";
/// SUBSCRIBE: the `epoch` of the last MESSAGE the client processed (with `recover-offset`).
pub const RECOVER_EPOCH: &str = "recover-epoch";
/// RECEIPT of a SUBSCRIBE that asked to recover: `true` when every missed message was
/// replayed, `false` when some were lost (the application reloads its state).
pub const RECOVERED: &str = "recovered";
/// Through the relay: an empty SEND a session publishes to a history destination's stream
/// to find where its replay ends; never delivered to clients (src/stomp/relay/stream.rs).
pub const MARKER: &str = "sockjs-marker";

// RabbitMQ streams (RabbitMQ STOMP guide, "Stream Support"; rabbit_stomp_headers.hrl).

/// SUBSCRIBE: where a stream consumer starts (`first`, `last`, `next`, an offset); MESSAGE:
/// the message's offset in the stream.
pub const X_STREAM_OFFSET: &str = "x-stream-offset";
/// SUBSCRIBE: the queue type to declare (`stream`).
pub const X_QUEUE_TYPE: &str = "x-queue-type";
/// SUBSCRIBE to `/topic/...`: the name of the queue to declare and bind.
pub const X_QUEUE_NAME: &str = "x-queue-name";
/// SUBSCRIBE: the declared queue's retention in bytes.
pub const X_MAX_LENGTH_BYTES: &str = "x-max-length-bytes";
/// SUBSCRIBE: unacknowledged messages the broker sends at most (required for streams).
pub const PREFETCH_COUNT: &str = "prefetch-count";
