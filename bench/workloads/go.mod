module goroscope.dev/bench/workloads

go 1.19
