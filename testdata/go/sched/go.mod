module goroscope.test/sched

go 1.19
