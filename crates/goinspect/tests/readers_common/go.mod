module goroscope.test/dwarfinl

go 1.19
