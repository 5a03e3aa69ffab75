"""The Spiking Recurrent Cell (SRC): float, quantized, golden and HDL parts."""
