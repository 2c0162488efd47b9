module goroscope.test/spawner

go 1.19
