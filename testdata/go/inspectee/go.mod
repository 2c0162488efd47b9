module goroscope.test/inspectee

go 1.19
