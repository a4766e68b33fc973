//! Benchmark: the SVR head's feature scaling, min-max to [0, 1] against
//! z-scores, on the real development set (VIDEVAL features of YouTube-UGC,
//! `../shared/data/youtube_ugc_videval.csv`, never committed).
//!
//! ```sh
//! cargo run --release -p moshead --example svr_scaling [-- CSV [SPLITS]]
//! ```
//!
//! Protocol of the set's README: random 80/20 splits (every clip its own
//! content), NaN and inf set to 0, scaling fitted on the training part;
//! prints median SROCC / PLCC over the splits for each scaling and C.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use moshead::evaluation::{plcc, srocc};
use moshead::training::heads::svr::SvrScaling;
use moshead::training::{HeadKind, HeadSpec, Status};
use ndarray::Array2;
use rand::seq::SliceRandom;
use rand::SeedableRng;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .unwrap_or_else(|| "../shared/data/youtube_ugc_videval.csv".into());
    let splits: usize = args.next().map_or(20, |s| s.parse().unwrap());
    let Ok(text) = std::fs::read_to_string(&path) else {
        println!("svr_scaling: {path} is not present; nothing measured");
        return;
    };
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let mos_col = header.iter().position(|h| *h == "mos").unwrap();
    let feat: Vec<usize> = (0..header.len())
        .filter(|&i| header[i].starts_with("videval_"))
        .collect();
    let (mut xs, mut y) = (Vec::new(), Vec::new());
    for line in lines {
        let cells: Vec<&str> = line.split(',').collect();
        y.push(cells[mos_col].parse::<f64>().unwrap());
        for &j in &feat {
            let v: f64 = cells[j].parse().unwrap_or(f64::NAN);
            xs.push(if v.is_finite() { v } else { 0.0 });
        }
    }
    let n = y.len();
    let x = Array2::from_shape_vec((n, feat.len()), xs).unwrap();
    let groups: Vec<u32> = (0..n as u32).collect();
    println!(
        "svr_scaling: {path}: {n} rows x {} features, {splits} random 80/20 splits",
        feat.len()
    );
    for scaling in [SvrScaling::Minmax, SvrScaling::Standard] {
        for c in [1.0, 4.0, 16.0] {
            let start = Instant::now();
            let (mut s, mut p) = (Vec::new(), Vec::new());
            for split in 0..splits {
                let mut order: Vec<usize> = (0..n).collect();
                order.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(split as u64));
                let cut = n * 4 / 5;
                let (train, test) = order.split_at(cut);
                let mut spec = HeadSpec::new(HeadKind::Svr);
                spec.svr.scaling = scaling;
                spec.svr.c = c;
                let head = spec
                    .fit(x.view(), &y, &groups, train, 0, &Status::silent())
                    .unwrap();
                let pred = head.predict_rows(x.view(), test);
                let truth: Vec<f64> = test.iter().map(|&i| y[i]).collect();
                s.push(srocc(&pred, &truth).unwrap_or(f64::NAN));
                p.push(plcc(&pred, &truth).unwrap_or(f64::NAN));
            }
            println!(
                "  {scaling:?} C {c}: median SROCC {:.4}, PLCC {:.4} ({:.1} s)",
                median(s),
                median(p),
                start.elapsed().as_secs_f64()
            );
        }
    }
}
