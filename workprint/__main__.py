from workprint.cli import main

main()
