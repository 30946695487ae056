from cmcc.cli import main

main()
