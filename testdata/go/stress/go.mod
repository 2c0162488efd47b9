module goroscope.test/stress

go 1.19
