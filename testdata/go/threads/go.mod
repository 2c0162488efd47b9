module goroscope.test/threads

go 1.19
