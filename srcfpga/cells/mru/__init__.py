"""The bistable and cumulative memory recurrent units (BMRU, CMRU): float, quantized, golden and HDL parts."""
