//! The math.rs vectors of `yuma_vectors.json` (research notes §5) against this crate's
//! kernels. The epoch vectors live in `tests/it/vectors.rs`.

use serde_json::Value;

use crate::bonds::ema_alpha_entry;
use crate::consensus::{quantile, weighted_median_cols};
use crate::epoch::{interpolate, is_topk_nonzero};
use crate::fixed::{I32F32, I64F64, normalize, normalize64};
use crate::sparse::Csr;
use crate::upscale::max_upscale_fixed;

fn vector(id: &str) -> Value {
    let all: Value = serde_json::from_str(include_str!("../tests/data/yuma_vectors.json")).unwrap();
    all["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"] == id)
        .unwrap()
        .clone()
}

/// f32 literal → I32F32, as upstream's `fixed(f32)` / `vec_to_fixed`.
fn f(v: &Value) -> I32F32 {
    I32F32::saturating_from_num(v.as_f64().unwrap() as f32)
}

fn fs(v: &Value) -> Vec<I32F32> {
    v.as_array().unwrap().iter().map(f).collect()
}

fn dense_to_csr(rows: &Value) -> Csr {
    Csr::from_rows(rows.as_array().unwrap().iter().map(|r| {
        fs(r)
            .into_iter()
            .enumerate()
            .filter(|(_, x)| *x != I32F32::from_num(0))
            .map(|(j, x)| (j as u16, x))
            .collect::<Vec<_>>()
    }))
}

fn sparse_bits(m: &Csr) -> Vec<Vec<(u16, i64)>> {
    m.to_rows(|x| x.to_bits())
}

fn expected_bits(v: &Value) -> Vec<Vec<(u16, i64)>> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|p| (p[0].as_u64().unwrap() as u16, p[1].as_i64().unwrap()))
                .collect()
        })
        .collect()
}

#[test]
fn weighted_median_scalar() {
    let v = vector("weighted_median_scalar");
    let minority = I32F32::from_num(1).saturating_sub(I32F32::saturating_from_num(0.51_f32));
    for case in v["cases"].as_array().unwrap() {
        let stake = fs(&case["stake"]);
        let score = fs(&case["score"]);
        let mut items: Vec<(i64, i64)> = score
            .iter()
            .zip(&stake)
            .map(|(s, w)| (s.to_bits(), w.to_bits()))
            .collect();
        let got = quantile(&mut items, false, 0, minority.to_bits());
        assert_eq!(got, case["expected_bits"].as_i64().unwrap(), "{case}");
    }
}

#[test]
fn weighted_median_col() {
    let v = vector("weighted_median_col");
    for case in v["cases"].as_array().unwrap() {
        let stake = fs(&case["stake"]);
        let w = dense_to_csr(&case["weights_rows"]);
        let columns = case["weights_rows"][0].as_array().unwrap().len();
        let got = weighted_median_cols(&stake, &w, columns, f(&case["majority"]), false);
        let want: Vec<I32F32> = match case["expected_bits"].as_array() {
            Some(bits) => bits
                .iter()
                .map(|b| I32F32::from_bits(b.as_i64().unwrap()))
                .collect(),
            None => fs(&case["expected"]),
        };
        assert_eq!(got, want, "{case}");
    }
}

#[test]
fn col_clip_sparse() {
    let v = vector("col_clip");
    for case in v["cases"].as_array().unwrap() {
        let m = dense_to_csr(&case["matrix_rows"]);
        let threshold = fs(&case["threshold"]);
        let got = m.col_clip(&threshold).to_rows(|x| x.to_num::<i64>());
        let want: Vec<Vec<(u16, i64)>> = expected_bits(&case["expected_sparse"]);
        assert_eq!(got, want);
    }
}

#[test]
fn elementwise_products_sparse() {
    let m0 = dense_to_csr(&serde_json::json!([
        [0, 2, 3],
        [4, 0, 6],
        [7, 8, 0],
        [10, 11, 12]
    ]));
    let ints = |xs: Vec<I32F32>| {
        xs.into_iter()
            .map(|x| x.to_num::<i64>())
            .collect::<Vec<_>>()
    };
    let v4 = fs(&serde_json::json!([1, 2, 3, 4]));
    let v3 = fs(&serde_json::json!([1, 2, 3]));
    let cases = vector("elementwise_products")["cases"].clone();
    let want = |k: usize| -> Vec<i64> {
        cases[k]["expected"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_i64().unwrap())
            .collect()
    };
    assert_eq!(ints(m0.vec_mul_left(&v4, 3)), want(3));
    assert_eq!(ints(m0.mul_vec(&v3)), want(4));
    assert_eq!(ints(m0.row_sums()), want(5));
}

#[test]
fn row_normalize_sparse_bits() {
    let v = vector("row_normalize_sparse");
    let mut m = dense_to_csr(&v["input_rows_dense"]);
    m.row_normalize();
    assert_eq!(
        sparse_bits(&m),
        expected_bits(&v["reference_output_bits_sparse"])
    );
}

#[test]
fn normalize_vector_bits() {
    let v = vector("normalize_vector");
    let mut x = fs(&v["input"]);
    normalize(&mut x);
    let want: Vec<i64> = v["reference_output_bits_i32f32"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b.as_i64().unwrap())
        .collect();
    assert_eq!(x.iter().map(|b| b.to_bits()).collect::<Vec<_>>(), want);
    let mut y: Vec<I64F64> = v["input"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| I64F64::from_num(b.as_f64().unwrap()))
        .collect();
    normalize64(&mut y);
    let want: Vec<i128> = v["reference_output_bits_i64f64"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b.as_str().unwrap().parse().unwrap())
        .collect();
    assert_eq!(y.iter().map(|b| b.to_bits()).collect::<Vec<_>>(), want);
}

#[test]
fn interpolate_sparse_bits() {
    let v = vector("interpolate_sparse");
    let a = dense_to_csr(&v["mat1_dense"]);
    let b = dense_to_csr(&v["mat2_dense"]);
    let got = interpolate(&a, &b, 2, f(&v["ratio"]));
    assert_eq!(
        sparse_bits(&got),
        expected_bits(&v["reference_output_bits"])
    );
    // Ratios 0 and 1 return an input unchanged.
    assert_eq!(*interpolate(&a, &b, 2, I32F32::from_num(0)), a);
    assert_eq!(*interpolate(&a, &b, 2, I32F32::from_num(1)), b);
}

#[test]
fn mat_ema_alpha_sparse_bits() {
    let v = vector("mat_ema_alpha_sparse");
    for case in v["cases"].as_array().unwrap() {
        let (new, old) = if case["new_dense"].is_null() {
            let rows = |m: &Value| {
                Csr::from_rows(m.as_array().unwrap().iter().map(|r| {
                    r.as_array()
                        .unwrap()
                        .iter()
                        .map(|p| (p[0].as_u64().unwrap() as u16, f(&p[1])))
                        .collect::<Vec<_>>()
                }))
            };
            (rows(&case["new"]), rows(&case["old"]))
        } else {
            let mut new_dense = case["new_dense"].clone();
            if case["name"] == "old-only entry is DROPPED" {
                // The notes transcribe upstream's flat `[0, 0, 0, 0, 2, ..]` (4 × 3) as row 1,
                // column 0; it is row 1, column 1, as the reference bits say
                // (tests/math.rs::test_math_sparse_mat_ema_alpha). Upstream wins.
                new_dense = serde_json::json!([[0, 0, 0], [0, 2, 0], [0, 0, 0], [0, 0, 0]]);
            }
            (dense_to_csr(&new_dense), dense_to_csr(&case["old_dense"]))
        };
        let alpha = |i: usize, j: u16| -> I32F32 {
            if case["alpha"].is_array() {
                f(&case["alpha"][i][usize::from(j)])
            } else {
                f(&case["alpha"])
            }
        };
        let got = Csr::from_rows((0..new.rows()).map(|i| {
            new.iter_row(i)
                .filter_map(|(j, w)| {
                    let o = old.iter_row(i).find(|&(k, _)| k == j).map(|(_, b)| b);
                    ema_alpha_entry(alpha(i, j), o, w).map(|x| (j, x))
                })
                .collect::<Vec<_>>()
        }));
        assert_eq!(
            sparse_bits(&got),
            expected_bits(&case["reference_output_bits"]),
            "{case}"
        );
    }
}

#[test]
fn topk_nonzero() {
    let v = vector("is_topk");
    for case in v["cases"].as_array().unwrap() {
        let x = fs(&case["v"]);
        let k = case["k"].as_u64().unwrap() as usize;
        // is_topk_nonzero = is_topk with zero values forced to false.
        let want: Vec<bool> = case["out"]
            .as_array()
            .unwrap()
            .iter()
            .zip(&x)
            .map(|(o, x)| o.as_bool().unwrap() && *x != I32F32::from_num(0))
            .collect();
        assert_eq!(is_topk_nonzero(&x, k), want, "{case}");
    }
    let x = fs(&serde_json::json!([0.4, 0, 0.3, 0.2, 0.1]));
    assert_eq!(is_topk_nonzero(&x, 3), vec![true, false, true, true, false]);
}

#[test]
fn vec_max_upscale_to_u16() {
    let v = vector("vec_max_upscale_to_u16");
    for case in v["cases"].as_array().unwrap() {
        let xs: Vec<I32F32> = if let Some(ints) = case["in_integers"].as_array() {
            ints.iter()
                .map(|x| match x.as_i64() {
                    Some(i) => I32F32::from_num(i),
                    None => I32F32::max_value(),
                })
                .collect()
        } else {
            fs(&case["in"])
        };
        let want: Vec<u16> = case["out"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap() as u16)
            .collect();
        assert_eq!(max_upscale_fixed(&xs), want, "{case}");
    }
}

#[test]
fn mat_ema_alpha_dense() {
    // The dense EMA is the same per-entry formula with every entry present (zeros kept).
    let v = vector("mat_ema_alpha_dense");
    for case in v["cases"].as_array().unwrap() {
        let (new, old) = (&case["new"], &case["old"]);
        let rows = new.as_array().unwrap().len();
        let cols = new[0].as_array().unwrap().len();
        let alpha = |j: usize| match case["alpha_per_column"].as_array() {
            Some(a) => f(&a[j]),
            None => f(&case["alpha"]),
        };
        let got: Vec<Vec<I32F32>> = (0..rows)
            .map(|i| {
                (0..cols)
                    .map(|j| {
                        ema_alpha_entry(alpha(j), Some(f(&old[i][j])), f(&new[i][j]))
                            .unwrap_or(I32F32::from_num(0))
                    })
                    .collect()
            })
            .collect();
        if let Some(bits) = case["reference_output_bits"].as_array() {
            let want: Vec<Vec<i64>> = bits
                .iter()
                .map(|r| {
                    r.as_array()
                        .unwrap()
                        .iter()
                        .map(|b| b.as_i64().unwrap())
                        .collect()
                })
                .collect();
            let got: Vec<Vec<i64>> = got
                .iter()
                .map(|r| r.iter().map(|x| x.to_bits()).collect())
                .collect();
            assert_eq!(got, want, "{case}");
        } else {
            let tol: f64 =
                if case["tolerance"] == "exact" || case["tolerance"] == "exact (assert_eq)" {
                    0.0
                } else {
                    1e-4
                };
            for (i, row) in got.iter().enumerate() {
                for (j, x) in row.iter().enumerate() {
                    let want = case["expected"][i][j].as_f64().unwrap();
                    assert!(
                        (x.to_num::<f64>() - want).abs() <= tol.max(1e-9),
                        "{case} at {i},{j}: {x}"
                    );
                }
            }
        }
    }
}

#[test]
fn sigmoid_safe_pins_exp() {
    // sigmoid_safe(x, rho, kappa) = 1 / (1 + exp_safe(-rho (x - kappa))): not used by the
    // epoch, but it fixes `exp_safe` bits at inputs liquid alpha does not reach.
    use crate::fixed::{ONE, div, exp_safe};
    let v = vector("sigmoid_safe");
    for case in v["cases"].as_array().unwrap() {
        let rho = I32F32::from_num(case["rho"].as_i64().unwrap());
        let kappa = I32F32::from_num(case["kappa"].as_f64().unwrap());
        let xs: Vec<I32F32> = match case["x"].as_array() {
            Some(xs) => xs
                .iter()
                .map(|x| match x.as_str() {
                    Some("I32F32::MIN") => I32F32::min_value(),
                    Some(_) => I32F32::max_value(),
                    None => I32F32::from_num(x.as_f64().unwrap()),
                })
                .collect(),
            None => fs(&case["x_f32"]),
        };
        let neg_rho = rho.saturating_mul(ONE.saturating_neg());
        for (k, x) in xs.iter().enumerate() {
            let e = exp_safe(neg_rho.saturating_mul(x.saturating_sub(kappa)));
            let got = div(ONE, e.saturating_add(ONE));
            let want = I32F32::from_num(case["expected_f64"][k].as_f64().unwrap());
            assert_eq!(got, want, "{case} x[{k}]");
            if let Some(bits) = case["reference_output_bits"].as_array() {
                assert_eq!(got.to_bits(), bits[k].as_i64().unwrap());
            }
        }
    }
}
