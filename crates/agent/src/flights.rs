//! The flight-search agent's inventory: a fixed, deterministic timetable.
//!
//! A real flight-search agent would query airlines; this one owns a small catalogue so that
//! the example runs offline and its answers can be checked. Prices are integer cents.

use serde::{Deserialize, Serialize};

/// One scheduled flight.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Flight {
    /// Carrier and number, e.g. `TP 541`.
    pub code: String,
    /// Origin city.
    pub from: String,
    /// Destination city.
    pub to: String,
    /// Departure, local `HH:MM`.
    pub departs: String,
    /// Minutes in the air, stops included.
    pub minutes: u32,
    /// Stops on the way (0 = nonstop).
    pub stops: u8,
    /// Fare in euro cents.
    pub fare_cents: u32,
    /// Cabin and extras, in words.
    pub notes: String,
}

impl Flight {
    /// A sentence describing the flight, the text the ranking embeds.
    pub fn describe(&self) -> String {
        let stops = match self.stops {
            0 => "nonstop".to_owned(),
            1 => "one stop".to_owned(),
            n => format!("{n} stops"),
        };
        let hour: u32 = self.departs[..2].parse().unwrap_or(12);
        let part = match hour {
            0..=5 => "night",
            6..=11 => "morning",
            12..=17 => "afternoon",
            _ => "evening",
        };
        format!(
            "{part} flight from {} to {}, {stops}, {}h{:02}, {} euro, {}",
            self.from,
            self.to,
            self.minutes / 60,
            self.minutes % 60,
            self.fare_cents / 100,
            self.notes
        )
    }
}

/// The cities served.
pub const CITIES: [&str; 6] = ["Berlin", "Lisbon", "Paris", "Rome", "Madrid", "Vienna"];

const CARRIERS: [&str; 4] = ["SY", "TP", "LH", "AF"];
const NOTES: [&str; 6] = [
    "economy, hand luggage only",
    "economy with a checked bag",
    "flexible ticket, free changes",
    "premium economy, meal included",
    "business class, lounge access",
    "basic fare, no seat choice",
];

/// Every flight in the timetable: six daily departures per ordered city pair, with fares,
/// times, stops and cabins spread deterministically.
pub fn timetable() -> Vec<Flight> {
    let mut out = Vec::new();
    for (i, from) in CITIES.iter().enumerate() {
        for (j, to) in CITIES.iter().enumerate() {
            if i == j {
                continue;
            }
            let base = 90 + 25 * (i.abs_diff(j) as u32);
            for k in 0..6u32 {
                let seed = (i as u32) * 97 + (j as u32) * 31 + k * 17;
                let stops = u8::from(k % 3 == 2);
                let minutes = base + u32::from(stops) * 95 + seed % 20;
                let cabin = NOTES[((seed / 3) % 6) as usize];
                let premium = match cabin {
                    c if c.starts_with("business") => 3,
                    c if c.starts_with("premium") || c.starts_with("flexible") => 2,
                    _ => 1,
                };
                let fare = (4_900 + (seed * 733) % 12_000) * premium - u32::from(stops) * 1_500;
                out.push(Flight {
                    code: format!("{} {}", CARRIERS[(seed % 4) as usize], 100 + seed % 900),
                    from: (*from).to_owned(),
                    to: (*to).to_owned(),
                    departs: format!("{:02}:{:02}", 6 + k * 3, (seed * 7) % 60),
                    minutes,
                    stops,
                    fare_cents: fare,
                    notes: cabin.to_owned(),
                });
            }
        }
    }
    out
}

/// The flights from `from` to `to` (city names, any case).
pub fn route(from: &str, to: &str) -> Vec<Flight> {
    timetable()
        .into_iter()
        .filter(|f| f.from.eq_ignore_ascii_case(from) && f.to.eq_ignore_ascii_case(to))
        .collect()
}

/// The cities named in `text`, in the order they appear.
pub fn cities_in(text: &str) -> Vec<&'static str> {
    let lower = text.to_lowercase();
    let mut found: Vec<(usize, &'static str)> = CITIES
        .iter()
        .filter_map(|c| lower.find(&c.to_lowercase()).map(|at| (at, *c)))
        .collect();
    found.sort();
    found.into_iter().map(|(_, c)| c).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_has_six_distinct_flights() {
        let all = timetable();
        assert_eq!(all.len(), 6 * 5 * 6);
        let r = route("berlin", "LISBON");
        assert_eq!(r.len(), 6);
        let mut codes: Vec<_> = r.iter().map(|f| f.describe()).collect();
        codes.dedup();
        assert_eq!(codes.len(), 6);
        assert!(r.iter().all(|f| f.fare_cents > 0 && f.minutes > 60));
        assert!(r.iter().any(|f| f.stops == 0) && r.iter().any(|f| f.stops == 1));
    }

    #[test]
    fn cities_are_found_in_order() {
        assert_eq!(
            cities_in("a weekend in lisbon, flying from Berlin"),
            ["Lisbon", "Berlin"]
        );
        assert_eq!(cities_in("Berlin to Rome please"), ["Berlin", "Rome"]);
        assert!(cities_in("somewhere warm").is_empty());
    }
}
