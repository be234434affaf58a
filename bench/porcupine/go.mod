module weft.bench/porcupine

go 1.19

require github.com/anishathalye/porcupine v0.0.0

// Porcupine's source (MIT) as the project keeps it, in /work/shared/peers/porcupine.
replace github.com/anishathalye/porcupine => ../../../shared/peers/porcupine
