from qtables.cli import main

main()
