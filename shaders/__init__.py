"""shaders"""
