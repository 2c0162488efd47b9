module goroscope.bench/snapshots

go 1.19
