//! Thread management over the fake: each method sends its call with the
//! expected params and returns the answer.

use codexrt::protocol::types::ThreadListParams;
use codexrt_testkit::fake::{FakeScript, Handshake, Step};
use serde_json::json;

use crate::support::{connect, finish, thread};

#[tokio::test]
async fn list_read_archive_unarchive_and_set_name_send_their_calls() {
    let script = FakeScript::new()
        .handshake(Handshake::new())
        .step(Step::respond_to(
            "thread/list",
            json!({"data": [thread("t1"), thread("t2")], "nextCursor": "c2"}),
        ))
        .step(Step::respond_to(
            "thread/read",
            json!({"thread": thread("t1")}),
        ))
        .step(Step::respond_to("thread/archive", json!({})))
        .step(Step::respond_to(
            "thread/unarchive",
            json!({"thread": thread("t1")}),
        ))
        .step(Step::respond_to("thread/name/set", json!({})))
        .step(Step::expect_close());
    let (client, fake) = connect(script).await;
    let threads = client.threads();
    let page = threads
        .list(ThreadListParams {
            limit: Some(2),
            ..ThreadListParams::default()
        })
        .await
        .unwrap();
    let ids: Vec<_> = page.data.iter().map(|thread| thread.id.as_str()).collect();
    assert_eq!(
        (ids, page.next_cursor.as_deref()),
        (vec!["t1", "t2"], Some("c2"))
    );
    assert_eq!(threads.read("t1").await.unwrap().id, "t1");
    threads.archive("t1").await.unwrap();
    assert_eq!(threads.unarchive("t1").await.unwrap().id, "t1");
    threads.set_name("t1", "renamed").await.unwrap();

    let log = finish(client, fake).await;
    let sent: Vec<_> = log
        .messages()
        .skip(2)
        .map(|message| json!([message["method"], message["params"]]))
        .collect();
    assert_eq!(
        sent,
        [
            json!(["thread/list", {"limit": 2}]),
            json!(["thread/read", {"threadId": "t1", "includeTurns": true}]),
            json!(["thread/archive", {"threadId": "t1"}]),
            json!(["thread/unarchive", {"threadId": "t1"}]),
            json!(["thread/name/set", {"threadId": "t1", "name": "renamed"}]),
        ]
    );
}
