//! Building Messages API answers: the SSE event sequence of a streamed
//! reply, the JSON of a non-streamed one, and error bodies.

use serde_json::{Value, json};

use crate::script::Block;

/// One server-sent event: `event: <name>\ndata: <json>\n\n`.
#[derive(Debug, Clone)]
pub struct Event {
    /// The `event:` line.
    pub name: &'static str,
    /// The `data:` JSON.
    pub data: Value,
}

impl Event {
    fn new(name: &'static str, data: Value) -> Self {
        Event { name, data }
    }

    /// The wire form of the event.
    pub fn to_wire(&self) -> String {
        format!("event: {}\ndata: {}\n\n", self.name, self.data)
    }
}

/// A new `msg_…` id.
pub fn message_id() -> String {
    format!("msg_standin_{}", uuid::Uuid::new_v4().simple())
}

/// A new `req_…` id (the `request-id` header).
pub fn request_id() -> String {
    format!("req_standin_{}", uuid::Uuid::new_v4().simple())
}

fn tool_id() -> String {
    format!("toolu_standin_{}", &uuid::Uuid::new_v4().simple().to_string()[..16])
}

/// A realistic `usage` block.
pub fn usage(input_tokens: u64, output_tokens: u64) -> Value {
    json!({
        "input_tokens": input_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
        "output_tokens": output_tokens,
        "service_tier": "standard",
    })
}

fn output_tokens(blocks: &[Block]) -> u64 {
    let chars: usize = blocks
        .iter()
        .map(|b| match b {
            Block::Text(t) => t.len(),
            Block::ToolUse { input, .. } => input.to_string().len(),
        })
        .sum();
    (chars as u64 / 4).max(1)
}

/// Splits text into a few word-aligned chunks for text deltas.
fn chunks(text: &str, pieces: usize) -> Vec<String> {
    let words: Vec<&str> = text.split_inclusive(' ').collect();
    let per = words.len().div_ceil(pieces.max(1)).max(1);
    words.chunks(per).map(|c| c.concat()).collect()
}

/// The full event sequence of a streamed reply, as the real API sends it.
pub fn stream_events(
    id: &str,
    model: &str,
    blocks: &[Block],
    stop_reason: &str,
    input_tokens: u64,
    text_pieces: usize,
) -> Vec<Event> {
    let mut ev = vec![Event::new(
        "message_start",
        json!({"type": "message_start", "message": {
            "id": id, "type": "message", "role": "assistant", "model": model,
            "content": [], "stop_reason": null, "stop_sequence": null,
            "usage": usage(input_tokens, 1)}}),
    )];
    for (index, block) in blocks.iter().enumerate() {
        match block {
            Block::Text(text) => {
                ev.push(Event::new(
                    "content_block_start",
                    json!({"type": "content_block_start",
                    "index": index, "content_block": {"type": "text", "text": ""}}),
                ));
                if index == 0 {
                    ev.push(Event::new("ping", json!({"type": "ping"})));
                }
                for piece in chunks(text, text_pieces) {
                    ev.push(Event::new(
                        "content_block_delta",
                        json!({"type": "content_block_delta",
                        "index": index, "delta": {"type": "text_delta", "text": piece}}),
                    ));
                }
            }
            Block::ToolUse { name, input } => {
                ev.push(Event::new(
                    "content_block_start",
                    json!({"type": "content_block_start",
                    "index": index, "content_block": {"type": "tool_use", "id": tool_id(),
                    "name": name, "input": {}}}),
                ));
                let raw = input.to_string();
                let mid = raw.char_indices().nth(raw.chars().count() / 2).map_or(0, |(i, _)| i);
                for part in [&raw[..mid], &raw[mid..]] {
                    ev.push(Event::new(
                        "content_block_delta",
                        json!({"type": "content_block_delta",
                        "index": index, "delta": {"type": "input_json_delta", "partial_json": part}}),
                    ));
                }
            }
        }
        ev.push(Event::new("content_block_stop", json!({"type": "content_block_stop", "index": index})));
    }
    ev.push(Event::new(
        "message_delta",
        json!({"type": "message_delta",
        "delta": {"stop_reason": stop_reason, "stop_sequence": null},
        "usage": usage(input_tokens, output_tokens(blocks))}),
    ));
    ev.push(Event::new("message_stop", json!({"type": "message_stop"})));
    ev
}

/// The JSON of a non-streamed reply.
pub fn message_json(id: &str, model: &str, blocks: &[Block], stop_reason: &str, input_tokens: u64) -> Value {
    let content: Vec<Value> = blocks
        .iter()
        .map(|b| match b {
            Block::Text(t) => json!({"type": "text", "text": t}),
            Block::ToolUse { name, input } => {
                json!({"type": "tool_use", "id": tool_id(), "name": name, "input": input})
            }
        })
        .collect();
    json!({"id": id, "type": "message", "role": "assistant", "model": model, "content": content,
        "stop_reason": stop_reason, "stop_sequence": null,
        "usage": usage(input_tokens, output_tokens(blocks))})
}

/// An API error body.
pub fn error_json(kind: &str, message: &str, request_id: &str) -> Value {
    json!({"type": "error", "error": {"type": kind, "message": message}, "request_id": request_id})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_stream_has_the_real_event_order() {
        let ev = stream_events("msg_1", "m", &[Block::Text("a b c d".into())], "end_turn", 10, 2);
        let names: Vec<&str> = ev.iter().map(|e| e.name).collect();
        assert_eq!(
            names,
            [
                "message_start",
                "content_block_start",
                "ping",
                "content_block_delta",
                "content_block_delta",
                "content_block_stop",
                "message_delta",
                "message_stop"
            ]
        );
        let text: String = ev.iter().filter_map(|e| e.data.pointer("/delta/text").and_then(Value::as_str)).collect();
        assert_eq!(text, "a b c d");
        assert!(ev[0].to_wire().starts_with("event: message_start\ndata: {"));
        assert!(ev[0].to_wire().ends_with("}\n\n"));
    }

    #[test]
    fn tool_stream_reassembles_input() {
        let input = json!({"command": "touch ä.txt"});
        let ev =
            stream_events("m", "m", &[Block::ToolUse { name: "Bash".into(), input: input.clone() }], "tool_use", 1, 1);
        let raw: String =
            ev.iter().filter_map(|e| e.data.pointer("/delta/partial_json").and_then(Value::as_str)).collect();
        assert_eq!(serde_json::from_str::<Value>(&raw).ok(), Some(input));
    }
}
