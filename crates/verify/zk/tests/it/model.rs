//! `Mlp::from_json` on untrusted bytes, `to_json`, the commitment, `infer`.

use verify_zk::{Mlp, ZkError};

use crate::fixture::{SplitMix, fixture};

fn rejects(json: &str, needle: &str) {
    match Mlp::from_json(json.as_bytes()) {
        Err(ZkError::InvalidModel(msg)) => assert!(msg.contains(needle), "{json}: {msg}"),
        other => panic!("{json}: expected InvalidModel({needle}), got {other:?}"),
    }
}

#[test]
fn from_json_rejects_malformed_models() {
    let ok = r#"{"layers":[{"weights":[[1,2],[3,4]],"bias":[0,0],"shift":1}]}"#;
    assert!(Mlp::from_json(ok.as_bytes()).is_ok());
    rejects("", "EOF");
    rejects("[]", "invalid length 0");
    rejects(r#"{"layers":[]}"#, "0 layers");
    rejects(
        r#"{"layers":[{"weights":[],"bias":[],"shift":1}]}"#,
        "layer is 0→0",
    );
    rejects(
        r#"{"layers":[{"weights":[[]],"bias":[0],"shift":1}]}"#,
        "layer is 0→1",
    );
    rejects(
        r#"{"layers":[{"weights":[[1,2],[3]],"bias":[0,0],"shift":1}]}"#,
        "row 1 has 1",
    );
    rejects(
        r#"{"layers":[{"weights":[[1,2]],"bias":[0,0],"shift":1}]}"#,
        "2 biases for 1",
    );
    rejects(
        r#"{"layers":[{"weights":[[1]],"bias":[0],"shift":32}]}"#,
        "shift 32 exceeds 31",
    );
    rejects(
        r#"{"layers":[{"weights":[[128]],"bias":[0],"shift":1}]}"#,
        "128",
    );
    rejects(
        r#"{"layers":[{"weights":[[1]],"bias":[0],"shift":1,"x":1}]}"#,
        "unknown field",
    );
    rejects(
        r#"{"layers":[{"weights":[[1]],"bias":[0]}]}"#,
        "missing field `shift`",
    );
    rejects(
        r#"{"layers":[{"weights":[[1]],"bias":[2147483647],"shift":1}]}"#,
        "beyond i32",
    );
    rejects(
        r#"{"layers":[{"weights":[[1,1]],"bias":[0],"shift":1},{"weights":[[1,1]],"bias":[0],"shift":1}]}"#,
        "layer 0 has 1 outputs, layer 1 takes 2",
    );
    let wide = format!(
        r#"{{"layers":[{{"weights":[[{}]],"bias":[0],"shift":1}}]}}"#,
        vec!["0"; 257].join(",")
    );
    rejects(&wide, "257→1");
    let layer = r#"{"weights":[[1]],"bias":[0],"shift":1}"#;
    let deep = format!(r#"{{"layers":[{}]}}"#, [layer; 9].join(","));
    rejects(&deep, "9 layers");
    let huge = vec![b' '; verify_zk::model::MAX_JSON_BYTES + 1];
    assert!(matches!(Mlp::from_json(&huge), Err(ZkError::InvalidModel(m)) if m.contains("limit")));
}

#[test]
fn json_round_trips_and_the_commitment_follows_every_field() -> eyre::Result<()> {
    let mlp = fixture();
    assert_eq!(Mlp::from_json(mlp.to_json().as_bytes())?, mlp);
    let base = r#"{"layers":[{"weights":[[1,2],[3,4]],"bias":[5,6],"shift":1}]}"#;
    let variants = [
        r#"{"layers":[{"weights":[[1,2],[3,5]],"bias":[5,6],"shift":1}]}"#,
        r#"{"layers":[{"weights":[[1,2],[3,4]],"bias":[5,7],"shift":1}]}"#,
        r#"{"layers":[{"weights":[[1,2],[3,4]],"bias":[5,6],"shift":2}]}"#,
        r#"{"layers":[{"weights":[[1,2,3,4]],"bias":[5],"shift":1}]}"#,
    ];
    let c = Mlp::from_json(base.as_bytes())?.commitment();
    for v in variants {
        assert_ne!(Mlp::from_json(v.as_bytes())?.commitment(), c, "{v}");
    }
    Ok(())
}

#[test]
fn canonical_bytes_follow_the_documented_layout() -> eyre::Result<()> {
    let mlp = Mlp::from_json(br#"{"layers":[{"weights":[[1,-2]],"bias":[-3],"shift":4}]}"#)?;
    let mut want = b"symbiont-mlp-v1\0".to_vec();
    want.extend([1, 2, 0, 1, 0, 4, 1, 0xFE]);
    want.extend((-3i32).to_le_bytes());
    assert_eq!(mlp.canonical_bytes(), want);
    Ok(())
}

#[test]
fn infer_checks_the_input_length_and_matches_an_i64_reference() -> eyre::Result<()> {
    let mlp = fixture();
    let err = mlp.infer(&[0; 15]).err().map(|e| e.to_string());
    assert_eq!(err.as_deref(), Some("input has 15 values, model takes 16"));
    let mut rng = SplitMix(9);
    for _ in 0..100 {
        let x = rng.input(16);
        let mut a: Vec<i64> = x.iter().map(|&v| i64::from(v)).collect();
        let n = mlp.layers().len();
        for (k, l) in mlp.layers().iter().enumerate() {
            a = (0..l.n_out())
                .map(|i| {
                    let acc: i64 = i64::from(l.bias()[i])
                        + l.row(i)
                            .iter()
                            .zip(&a)
                            .map(|(&w, &x)| i64::from(w) * x)
                            .sum::<i64>();
                    let q = (acc >> l.shift()).clamp(-128, 127);
                    if k + 1 < n { q.max(0) } else { q }
                })
                .collect();
        }
        let got: Vec<i64> = mlp.infer(&x)?.into_iter().map(i64::from).collect();
        assert_eq!(got, a);
    }
    Ok(())
}
