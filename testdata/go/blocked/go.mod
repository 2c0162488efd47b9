module goroscope.test/blocked

go 1.19
