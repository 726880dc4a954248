/* main.c: the vstudio binary is a thin shell around libvstudio. */
#include "cli.h"

int main(int argc, char **argv) { return vs_cli_main(argc, argv); }
