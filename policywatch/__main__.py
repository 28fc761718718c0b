from policywatch.cli import main

main()
