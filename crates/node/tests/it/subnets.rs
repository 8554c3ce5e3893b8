//! Subnets through the node: create, register and stake by signed transactions over REST,
//! then read the subnet list, one subnet and its metagraph.

use std::time::Duration;

use ledger::Call;

use crate::common::*;

const FAST: Duration = Duration::from_millis(100);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subnet_lifecycle_over_rest() {
    let n = start(FAST, 1000).await;
    let (s, v) = n.get("/v1/subnets").await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["subnets"].as_array().unwrap().len(), 0);
    assert_eq!(v["lockCost"], "100000000000");

    let create = signed(
        &key(0),
        0,
        1_000,
        0,
        Call::CreateSubnet {
            max_lock_cost: u128::MAX,
        },
    );
    let (_, v) = n.submit(&create).await;
    let doc = n.committed(v["hash"].as_str().unwrap()).await;
    assert_eq!(doc["receipt"]["status"], "success", "{doc}");

    let mut last = String::new();
    for i in 1..3 {
        let reg = signed(
            &key(i),
            0,
            1_000,
            0,
            Call::RegisterNeuron {
                netuid: 1,
                max_burn: u128::MAX,
            },
        );
        let (s, v) = n.submit(&reg).await;
        assert_eq!(s, 202, "{v}");
        last = v["hash"].as_str().unwrap().to_owned();
    }
    n.committed(&last).await;
    let stake = signed(
        &key(1),
        1,
        1_000,
        0,
        Call::AddStake {
            netuid: 1,
            hotkey: addr(1),
            amount: 10_000_000_000,
            limit_price: 0,
        },
    );
    let (_, v) = n.submit(&stake).await;
    let doc = n.committed(v["hash"].as_str().unwrap()).await;
    assert_eq!(
        doc["receipt"]["events"][0]["stakeAdded"]["netuid"], 1,
        "{doc}"
    );

    let (s, list) = n.get("/v1/subnets").await;
    assert_eq!(s, 200);
    assert_eq!(list["subnets"][0]["netuid"], 1);
    assert_eq!(list["subnets"][0]["neurons"], 3);
    let (s, sn) = n.get("/v1/subnets/1").await;
    assert_eq!(s, 200, "{sn}");
    assert_eq!(sn["owner"], serde_json::json!(addr(0)));
    assert_eq!(sn["hyperparams"]["tempo"], 360);
    assert_eq!(sn["hyperparams"]["yuma3"], true);
    assert_eq!(sn["locked"], "100000000000");
    let tao: u128 = sn["pool"]["tao"].as_str().unwrap().parse().unwrap();
    assert!(tao > 110_000_000_000, "lock + burns + stake: {tao}");
    assert!(sn["price"].as_str().unwrap().parse::<u128>().unwrap() > 1_000_000_000);

    let (s, mg) = n.get("/v1/subnets/1/metagraph").await;
    assert_eq!(s, 200, "{mg}");
    let neurons = mg["neurons"].as_array().unwrap();
    assert_eq!(neurons.len(), 3);
    assert_eq!(neurons[0]["isOwner"], true);
    assert_eq!(neurons[1]["account"], serde_json::json!(addr(1)));
    assert_ne!(neurons[1]["stake"], "0");
    assert_eq!(neurons[2]["stake"], "0");

    let emission: u128 = sn["emissionPerBlock"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        emission, 1_000_000_000,
        "the only subnet gets the whole block emission"
    );
    assert!(sn["pendingEmission"]["neurons"].as_str().unwrap() != "0");
    let (s, h) = n.get("/v1/subnets/1/emissions?limit=5").await;
    assert_eq!(s, 200, "{h}");
    assert!(h["epochs"].as_array().unwrap().len() <= 5);
    assert_eq!(n.get("/v1/subnets/9/emissions").await.0, 404);

    assert_eq!(n.get("/v1/subnets/9").await.0, 404);
    assert_eq!(n.get("/v1/subnets/x/metagraph").await.0, 400);
    n.node.shutdown().await.unwrap();
}
