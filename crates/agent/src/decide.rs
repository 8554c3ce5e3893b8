//! The decision layer of the trip planner: turn a request into a search, and the search's
//! results into an answer. Pluggable: [`Rules`] by default, or [`ChatModel`], any
//! OpenAI-compatible chat endpoint (the devnet's chat miners through the paid gateway).
//!
//! Either way the decision layer only proposes: what is bought, from whom and for how much is
//! checked by the runtime, and what is signed by the signer's policy.

use std::{future::Future, pin::Pin};

use eyre::{WrapErr, bail, eyre};
use serde_json::{Value, json};

use crate::flights::{self, Flight};

/// A boxed, sendable future.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A flight search derived from a traveller's request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Search {
    /// Origin city.
    pub from: String,
    /// Destination city.
    pub to: String,
    /// What the traveller cares about, in words (ranked against flight descriptions).
    pub wants: String,
}

/// Decides what to search for and how to answer.
pub trait Decide: Send + Sync {
    /// A name for logs and answers (`rules`, `model`).
    fn name(&self) -> &'static str;

    /// The search that serves `request`.
    fn plan<'a>(&'a self, request: &'a str) -> BoxFuture<'a, eyre::Result<Search>>;

    /// The answer to `request` given the ranked `options` (best first, never empty).
    fn answer<'a>(
        &'a self,
        request: &'a str,
        options: &'a [Flight],
    ) -> BoxFuture<'a, eyre::Result<String>>;
}

/// Rule-based decisions: cities by name ("from X" marks the origin, the other city is the
/// destination); the answer recommends the best-ranked flight.
#[derive(Debug, Clone, Copy, Default)]
pub struct Rules;

impl Rules {
    /// The search for `request`, or why there is none.
    pub fn search(request: &str) -> eyre::Result<Search> {
        let cities = flights::cities_in(request);
        let [a, b] = cities[..] else {
            bail!(
                "name exactly two of the cities served ({}); found {}",
                flights::CITIES.join(", "),
                cities.len()
            );
        };
        let lower = request.to_lowercase();
        let from_b = lower.contains(&format!("from {}", b.to_lowercase()));
        let (from, to) = if from_b { (b, a) } else { (a, b) };
        Ok(Search {
            from: from.to_owned(),
            to: to.to_owned(),
            wants: request.trim().to_owned(),
        })
    }

    /// The rule-based answer.
    pub fn recommend(options: &[Flight]) -> String {
        let Some(best) = options.first() else {
            return "no flight matches".to_owned();
        };
        let mut out = format!(
            "Take {} from {} to {} at {}: {}.",
            best.code,
            best.from,
            best.to,
            best.departs,
            best.describe()
        );
        if let Some(next) = options.get(1) {
            out.push_str(&format!(
                " Alternative: {} at {} ({} euro).",
                next.code,
                next.departs,
                next.fare_cents / 100
            ));
        }
        out
    }
}

impl Decide for Rules {
    fn name(&self) -> &'static str {
        "rules"
    }

    fn plan<'a>(&'a self, request: &'a str) -> BoxFuture<'a, eyre::Result<Search>> {
        Box::pin(async move { Rules::search(request) })
    }

    fn answer<'a>(
        &'a self,
        _request: &'a str,
        options: &'a [Flight],
    ) -> BoxFuture<'a, eyre::Result<String>> {
        Box::pin(async move { Ok(Rules::recommend(options)) })
    }
}

/// Decisions by a chat model behind an OpenAI-compatible `/v1/chat/completions`, paid with
/// x402 when the endpoint asks. The model's plan may only order the cities the traveller
/// named; when it does not, the plan falls back to [`Rules`] (the model still writes the
/// answer).
#[derive(Debug, Clone)]
pub struct ChatModel {
    /// The endpoint's base URL (without `/v1/...`).
    pub url: String,
    /// Pays the endpoint if it charges.
    pub payer: x402_client::Client,
    /// Most tokens per answer.
    pub max_tokens: u32,
}

impl ChatModel {
    /// Attempts per completion: a gateway answers 503 while it has no healthy miner ("try
    /// again shortly"), and an unserved request is not charged.
    const ATTEMPTS: u32 = 3;

    async fn complete(&self, prompt: &str, max_tokens: u32) -> eyre::Result<String> {
        let body = json!({
            "messages": [{"role": "user", "content": prompt}],
            "max_tokens": max_tokens.min(self.max_tokens),
            "temperature": 0,
        });
        let mut attempt = 1;
        loop {
            let request = self
                .payer
                .http()
                .post(format!("{}/v1/chat/completions", self.url))
                .json(&body)
                .build()?;
            let paid = self
                .payer
                .execute(request)
                .await
                .wrap_err("calling the chat model")?;
            let status = paid.response.status();
            let doc: Value = paid.response.json().await?;
            if status == reqwest::StatusCode::SERVICE_UNAVAILABLE && attempt < Self::ATTEMPTS {
                tracing::warn!(attempt, "chat model unavailable; retrying: {doc}");
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                attempt += 1;
                continue;
            }
            if !status.is_success() {
                bail!("chat model answered HTTP {status}: {doc}");
            }
            return doc["choices"][0]["message"]["content"]
                .as_str()
                .map(|s| s.trim().to_owned())
                .ok_or_else(|| eyre!("chat model answer has no message: {doc}"));
        }
    }
}

impl Decide for ChatModel {
    fn name(&self) -> &'static str {
        "model"
    }

    fn plan<'a>(&'a self, request: &'a str) -> BoxFuture<'a, eyre::Result<Search>> {
        Box::pin(async move {
            // One worked example (with cities that are not served, so an echo of it names
            // none): small models copy an example's format far better than an instruction.
            let prompt = format!(
                "Cities: {}. Write the origin city, then the destination city.\n\
                 Traveller: \"Three days in Prague, flying from Oslo\"\nAnswer: Oslo, Prague\n\
                 Traveller: \"{request}\"\nAnswer:",
                flights::CITIES.join(", ")
            );
            // Two city names fit in a dozen tokens.
            let reply = self.complete(&prompt, 12).await?;
            let first_line = reply.lines().next().unwrap_or_default();
            // The model only orders the cities the traveller named; any other is refused.
            let asked = flights::cities_in(request);
            let named = flights::cities_in(first_line);
            match named[..] {
                [from, to, ..] if from != to && asked.contains(&from) && asked.contains(&to) => {
                    Ok(Search {
                        from: from.to_owned(),
                        to: to.to_owned(),
                        wants: request.trim().to_owned(),
                    })
                }
                // A small model often ignores the format; the traveller still gets a plan.
                _ => {
                    tracing::warn!(
                        "the model's plan {first_line:?} does not order two of the cities \
                         asked for; planning by the rules"
                    );
                    Rules::search(request)
                }
            }
        })
    }

    fn answer<'a>(
        &'a self,
        request: &'a str,
        options: &'a [Flight],
    ) -> BoxFuture<'a, eyre::Result<String>> {
        Box::pin(async move {
            let facts = Rules::recommend(options);
            let prompt = format!(
                "A traveller asked: \"{request}\". Recommend this flight in two sentences: {facts}"
            );
            let text = self.complete(&prompt, self.max_tokens).await?;
            // The model's words, with the facts they rest on (a small model may garble them).
            Ok(format!("{text}\n\nBooked option: {facts}"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_find_origin_and_destination() {
        let s = Rules::search("Three days in Lisbon, flying from Berlin; cheap, morning").unwrap();
        assert_eq!((s.from.as_str(), s.to.as_str()), ("Berlin", "Lisbon"));
        let s = Rules::search("Rome to Paris, business class").unwrap();
        assert_eq!((s.from.as_str(), s.to.as_str()), ("Rome", "Paris"));
        let e = Rules::search("somewhere sunny").unwrap_err().to_string();
        assert!(e.contains("exactly two"), "{e}");
        assert!(Rules::search("Rome, Paris or Vienna").is_err());
    }

    #[test]
    fn recommendation_names_the_best_flight() {
        let options = flights::route("Berlin", "Lisbon");
        let text = Rules::recommend(&options);
        assert!(
            text.contains(&options[0].code) && text.contains("Alternative"),
            "{text}"
        );
        assert_eq!(Rules::recommend(&[]), "no flight matches");
    }
}
