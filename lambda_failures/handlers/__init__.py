"""The functions' code; each module is packaged with the project modules it imports."""
